package abi

import (
	"errors"
	"strconv"
	"strings"
)

// Decision is a policy's answer: reconnect after a delay, with an
// escalation step, or log the session out with a cleanup scope.
type Decision struct {
	// V is the document version, DocVersion.
	V int
	// Action is ActionReconnect or ActionLogout.
	Action Action
	// DelayMS is, for a reconnect, how long to wait first in milliseconds.
	DelayMS int64
	// Step is, for a reconnect, the escalation step to carry out first
	// (StepReconnect … StepRecreate). Omitted means StepReconnect.
	Step int
	// Cleanup is, for a logout, where the session's data is removed.
	Cleanup Scope
	// End is, for a logout, how the session ends: EndClosed (the default),
	// EndQRLimit or EndConflict. It selects the webhooks the host sends.
	End End
	// SwitchProxy is, for a reconnect (ABI 1.3), the proxy to reconnect
	// through: SwitchNext for the next healthy proxy of the instance's
	// pool, a proxy id of the pool for that one, empty to stay.
	SwitchProxy string
	// QRCount, when not nil, sets the instance's QR counter (the seed's
	// rule lowers it after a temporary drop in the QR phase).
	QRCount *int
	// Rule names the policy rule that decided, for metrics and replays:
	// up to 64 bytes of [a-z0-9_.-].
	Rule string
	// Reason is a short human-readable explanation.
	Reason string
}

// End is how a logout ends the session.
type End string

// The endings of a logout.
const (
	// EndClosed is a permanent disconnection: status.instance "closed".
	EndClosed End = "closed"
	// EndQRLimit ends a login whose QR codes reached the limit:
	// qrcode.updated "QR code limit reached", connection.update "refused".
	EndQRLimit End = "qr_limit"
	// EndConflict ends a session in a multi-device conflict: a
	// multidevice.conflict webhook, then a forced logout.
	EndConflict End = "conflict"
)

// Scope is a set of places a logout cleans.
type Scope uint8

// The cleanup scopes.
const (
	ScopeSession Scope = 1 << iota // whatsmeow's device keys and session rows
	ScopeCache                     // the instance's cache keys
	ScopeFiles                     // the instance's directory under the data directory
)

// ScopeAll is every scope.
const ScopeAll = ScopeSession | ScopeCache | ScopeFiles

var scopeNames = [...]struct {
	s    Scope
	name string
}{{ScopeSession, "session"}, {ScopeCache, "cache"}, {ScopeFiles, "files"}}

// Names returns the scope's members in canonical order.
func (s Scope) Names() []string {
	var out []string
	for _, n := range scopeNames {
		if s&n.s != 0 {
			out = append(out, n.name)
		}
	}
	return out
}

// String renders the scope as "session,cache", or "none".
func (s Scope) String() string {
	if s == 0 {
		return "none"
	}
	return strings.Join(s.Names(), ",")
}

// ParseScope maps a scope name to its Scope.
func ParseScope(name string) (Scope, error) {
	for _, n := range scopeNames {
		if n.name == name {
			return n.s, nil
		}
	}
	return 0, wrap("", ErrUnknownScope, " "+strconv.Quote(name)+" (want session, cache or files)")
}

// Decoding and validation outcomes callers may branch on.
var (
	ErrUnknownAction = errors.New("unknown action")
	ErrUnknownScope  = errors.New("unknown cleanup scope")
	ErrInvalid       = errors.New("invalid decision")
)

// AppendJSON appends the decision document to b. Each key is appended
// with its quotes, colon and comma as one constant: under WebAssembly,
// where a policy encodes its decision, every append costs a call.
func (d *Decision) AppendJSON(b []byte) []byte {
	b = appendInt(append(b, `{"v":`...), int64(d.V))
	b = appendString(append(b, `,"action":`...), string(d.Action))
	switch d.Action {
	case ActionReconnect:
		b = strconv.AppendInt(append(b, `,"delay_ms":`...), d.DelayMS, 10)
		b = appendInt(append(b, `,"step":`...), int64(d.Step))
		if d.SwitchProxy != "" {
			b = appendSwitchProxy(b, d.SwitchProxy)
		}
	case ActionLogout:
		b = append(b, `,"cleanup":[`...)
		sep := false
		for _, n := range scopeNames {
			if d.Cleanup&n.s != 0 {
				if sep {
					b = append(b, ',')
				}
				b, sep = appendString(b, n.name), true
			}
		}
		b = append(b, ']')
		if d.End != "" {
			b = appendString(append(b, `,"end":`...), string(d.End))
		}
	}
	if d.QRCount != nil {
		b = strconv.AppendInt(append(b, `,"qr_count":`...), int64(*d.QRCount), 10)
	}
	if d.Rule != "" {
		b = appendString(append(b, `,"rule":`...), d.Rule)
	}
	b = appendString(append(b, `,"reason":`...), d.Reason)
	return append(b, '}')
}

// MarshalJSON implements json.Marshaler with the lean encoder.
func (d Decision) MarshalJSON() ([]byte, error) { return d.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler with DecodeDecision.
func (d *Decision) UnmarshalJSON(b []byte) error {
	v, err := DecodeDecision(b)
	if err == nil {
		*d = v
	}
	return err
}

// DecodeDecision parses a decision document strictly: fields of the wrong
// type, unknown actions, scopes or endings, and repeated fields are errors;
// unknown fields are ignored so that minor versions can add some. It does
// not check limits: see Validate.
func DecodeDecision(data []byte) (Decision, error) {
	var d Decision
	var seen uint16
	r := reader{b: data}
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		if bit := decisionField(key); bit != 0 {
			if seen&bit != 0 {
				err = &FieldError{Field: string(key), Err: errors.New("repeated")}
				break
			}
			seen |= bit
		}
		switch string(key) {
		case "v":
			d.V, err = small(r.int())
		case "action":
			var s []byte
			if s, err = r.rawString(); err == nil {
				d.Action = internAction(s)
			}
		case "delay_ms":
			d.DelayMS, err = r.int()
		case "step":
			d.Step, err = small(r.int())
		case "cleanup":
			d.Cleanup, err = decodeScope(&r)
		case "end":
			var s string
			s, err = r.str()
			d.End = End(s)
		case "switch_proxy":
			d.SwitchProxy, err = decodeSwitchProxy(&r)
		case "qr_count":
			var n int
			if n, err = small(r.int()); err == nil {
				d.QRCount = &n
			}
		case "rule":
			d.Rule, err = r.str()
		case "reason":
			d.Reason, err = r.str()
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	if err == nil {
		err = r.end()
	}
	if err != nil {
		return Decision{}, wrap("decoding decision: ", err, "")
	}
	if seen&decisionV == 0 || d.V != DocVersion {
		return Decision{}, wrap("decoding decision: ", ErrVersion, ": v="+itoa(int64(d.V))+", want "+itoa(DocVersion))
	}
	return d, nil
}

// The members of a decision, as bits of the set DecodeDecision has seen.
const (
	decisionV uint16 = 1 << iota
	decisionAction
	decisionDelayMS
	decisionStep
	decisionCleanup
	decisionEnd
	decisionQRCount
	decisionRule
	decisionReason
	decisionSwitchProxy
)

// decisionField returns the bit of a decision member, 0 for an unknown
// one. A switch rather than a map: the host checks every decision, and
// hashing each key costs more.
func decisionField(key []byte) uint16 {
	switch string(key) {
	case "v":
		return decisionV
	case "action":
		return decisionAction
	case "delay_ms":
		return decisionDelayMS
	case "step":
		return decisionStep
	case "cleanup":
		return decisionCleanup
	case "end":
		return decisionEnd
	case "qr_count":
		return decisionQRCount
	case "rule":
		return decisionRule
	case "reason":
		return decisionReason
	case "switch_proxy":
		return decisionSwitchProxy
	}
	return 0
}

func decodeScope(r *reader) (Scope, error) {
	var s Scope
	err := r.openArray()
	for first := true; err == nil; first = false {
		var more bool
		if more, err = r.element(first); err != nil || !more {
			break
		}
		var name []byte
		if name, err = r.rawString(); err != nil {
			break
		}
		var one Scope
		one, err = ParseScope(string(name))
		s |= one
	}
	return s, err
}

// Differences names the fields the host acts on — action, delay_ms, step,
// switch_proxy, cleanup, end — where d and o disagree; nil when they would be carried
// out alike. Shadow evaluation and replay compare decisions with it.
func (d *Decision) Differences(o *Decision) []string {
	var out []string
	if d.Action != o.Action {
		out = append(out, "action")
	}
	if d.DelayMS != o.DelayMS {
		out = append(out, "delay_ms")
	}
	if d.Step != o.Step {
		out = append(out, "step")
	}
	if d.SwitchProxy != o.SwitchProxy {
		out = append(out, "switch_proxy")
	}
	if d.Cleanup != o.Cleanup {
		out = append(out, "cleanup")
	}
	if d.End != o.End {
		out = append(out, "end")
	}
	return out
}
