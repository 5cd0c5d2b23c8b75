package abi

import (
	"errors"
)

// Input is the document a policy receives on every disconnect. It carries
// everything the policy may use, so a decision is a pure function of it:
// deterministic, replayable and testable.
type Input struct {
	// V is the document version, DocVersion.
	V int
	// NowMS is the host's wall clock in Unix milliseconds. Policies use it
	// instead of a clock of their own.
	NowMS int64
	// JitterSeed is a random number in [0, 2^32) drawn by the host for this
	// decision; policies derive jitter from it (see Jitter) so that a
	// replayed input yields the same decision.
	JitterSeed uint32
	// Instance describes the session that dropped.
	Instance Instance
	// Event is what happened.
	Event Event
	// Attempt is the consecutive attempt number: 1 for the first disconnect
	// since the session was last open, 2 for the next, and so on.
	Attempt int
	// Step is the escalation step reached so far in this run of attempts
	// (0 when none was taken yet, else one of the Step constants).
	Step int
	// History lists the instance's disconnects of the last 24 hours, oldest
	// first, not including this one. A module of ABI 1.1 or later gets
	// only the last HistoryTail of them; Summary covers them all.
	History []HistoryEntry
	// Summary (ABI 1.1) summarizes the whole history. AppendJSON writes
	// one computed from History (and ignores this field) when History has
	// more than HistoryTail entries, the only case in which a module may
	// not see them all; HasSummary reports whether a decoded document
	// carried one.
	Summary    HistorySummary
	HasSummary bool
	// Traffic (ABI 1.2) is what the host saw of the session's traffic.
	// DecodeInputLazy leaves it zero until LoadTraffic decodes it; read it
	// through LoadTraffic when the input may have been decoded so.
	Traffic Traffic
	// trafficRaw is the traffic object DecodeInputLazy left undecoded,
	// nil when there is none pending.
	trafficRaw []byte
	// Proxy (ABI 1.3) is the proxy the instance's connections go
	// through, when HasProxy is set; the host sends it only for an
	// instance behind a proxy.
	Proxy    Proxy
	HasProxy bool
	// Settings is the policy's settings from the host's config: a JSON
	// object, {} when none are configured.
	Settings Settings
}

// Instance describes the session a decision is about.
type Instance struct {
	ID   string
	Name string
	// Phase is where the session was when the event happened.
	Phase Phase
	// QRCount is how many QR codes were shown in the current login, and
	// QRLimit the most the host's config allows (0 = no limit).
	QRCount int
	QRLimit int
	// ConnectedMS is how long the session had been open before the event,
	// in milliseconds (0 if it never opened).
	ConnectedMS int64
}

// Phase is the life-cycle phase of a session.
type Phase string

// The phases of a session.
const (
	PhaseQR         Phase = "qr"         // showing QR codes, waiting for a scan
	PhasePairing    Phase = "pairing"    // waiting for a phone-code pairing
	PhaseConnecting Phase = "connecting" // paired, connecting or logging in
	PhaseOpen       Phase = "open"       // logged in
)

// Event is what happened to the session.
type Event struct {
	// Kind is one of the Kind constants. Policies should treat a kind they
	// do not know by its Code: new kinds may appear in a minor version.
	Kind Kind
	// Code is the Baileys-compatible status code (428, 408, 440, 401, 403,
	// 402, 406, 500, 515, 411, 503, or another failure code).
	Code int
	// Raw is whatsmeow's own rendering of the event or error.
	Raw string
	// Message is a human-readable description.
	Message string
	// Cause is the network cause of a connect error, CauseNone otherwise.
	Cause Cause
	// ExpireMS is, for a temporary ban, how long until it expires in
	// milliseconds (0 when unknown or not a ban).
	ExpireMS int64
	// BanCode is whatsmeow's temporary-ban reason code (101–106), 0 if none.
	BanCode int
	// Signal is, for a degraded event (ABI 1.2), the threshold crossed:
	// one of the Signal constants.
	Signal string
}

// HistoryEntry is one earlier disconnect of the same instance.
type HistoryEntry struct {
	AtMS   int64
	Kind   Kind
	Code   int
	Action Action
	Step   int
}

// MaxHistory is the most history entries the host sends.
const MaxHistory = 1024

// AppendJSON appends the input document to b: the members of ABI 1.0,
// history_summary (ABI 1.1) when the history is longer than HistoryTail,
// traffic (ABI 1.2), proxy (ABI 1.3) when HasProxy is set, and the history
// last.
func (in *Input) AppendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendIntField(b, "v", int64(in.V))
	b = appendIntField(b, "now_ms", in.NowMS)
	b = appendIntField(b, "jitter_seed", int64(in.JitterSeed))
	b = append(appendKey(b, "instance"), '{')
	b = appendStringField(b, "id", in.Instance.ID)
	b = appendStringField(b, "name", in.Instance.Name)
	b = appendStringField(b, "phase", string(in.Instance.Phase))
	b = appendIntField(b, "qr_count", int64(in.Instance.QRCount))
	b = appendIntField(b, "qr_limit", int64(in.Instance.QRLimit))
	b = appendIntField(b, "connected_ms", in.Instance.ConnectedMS)
	b = append(b, '}')
	b = append(appendKey(b, "event"), '{')
	b = appendStringField(b, "kind", string(in.Event.Kind))
	b = appendIntField(b, "code", int64(in.Event.Code))
	b = appendStringField(b, "raw", in.Event.Raw)
	b = appendStringField(b, "message", in.Event.Message)
	b = appendStringField(b, "cause", string(in.Event.Cause.orNone()))
	if in.Event.ExpireMS != 0 {
		b = appendIntField(b, "expire_ms", in.Event.ExpireMS)
	}
	if in.Event.BanCode != 0 {
		b = appendIntField(b, "ban_code", int64(in.Event.BanCode))
	}
	if in.Event.Signal != "" {
		b = appendStringField(b, "signal", in.Event.Signal)
	}
	b = append(b, '}')
	b = appendIntField(b, "attempt", int64(in.Attempt))
	b = appendIntField(b, "step", int64(in.Step))
	if len(in.History) > HistoryTail {
		var kinds [8]KindTally
		var codes [16]CodeTally
		var actions [2]ActionTally
		sum := HistorySummary{Kinds: kinds[:0], Codes: codes[:0], Actions: actions[:0]}
		Summarize(in.NowMS, in.History, &sum)
		b = appendSummary(b, &sum)
	}
	b = appendTraffic(b, &in.Traffic)
	if in.HasProxy {
		b = appendProxy(b, &in.Proxy)
	}
	b = appendKey(b, "settings")
	if len(in.Settings) == 0 {
		b = append(b, '{', '}')
	} else {
		b = append(b, in.Settings...)
	}
	// The history comes last, so that InputForMinor can cut it to its
	// tail without parsing the document.
	b = append(appendKey(b, "history"), '[')
	for i := range in.History {
		h := &in.History[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendIntField(b, "at_ms", h.AtMS)
		b = appendStringField(b, "kind", string(h.Kind))
		b = appendIntField(b, "code", int64(h.Code))
		b = appendStringField(b, "action", string(h.Action))
		b = appendIntField(b, "step", int64(h.Step))
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

// MarshalJSON implements json.Marshaler with the lean encoder.
func (in *Input) MarshalJSON() ([]byte, error) { return in.AppendJSON(nil), nil }

// UnmarshalJSON implements json.Unmarshaler with DecodeInput.
func (in *Input) UnmarshalJSON(b []byte) error { return DecodeInput(b, in) }

// ErrVersion is returned for a document whose "v" this package does not
// implement.
var ErrVersion = errors.New("unsupported document version")

// DecodeInput parses an input document into in, reusing in.History's
// storage. Unknown fields are ignored; a field of the wrong type is an
// error. Strings are copied; Settings alias data.
func DecodeInput(data []byte, in *Input) error { return decodeInput(data, in, false, false) }

// DecodeInputNoCopy is DecodeInput with strings that alias data instead of
// copying it: no allocation, for a caller that neither changes data nor
// keeps in past its next use of data (a policy guest decoding its input
// buffer).
func DecodeInputNoCopy(data []byte, in *Input) error { return decodeInput(data, in, true, false) }

// decodeInput decodes with strings that alias data if alias is set, and
// leaves the traffic object for LoadTraffic if lazy is.
func decodeInput(data []byte, in *Input, alias, lazy bool) error {
	hist, sum := in.History[:0], in.Summary
	*in = Input{History: hist, Summary: HistorySummary{Kinds: sum.Kinds[:0], Codes: sum.Codes[:0], Actions: sum.Actions[:0]}}
	if decodeHostInput(data, in, alias, lazy) {
		return nil
	}
	// Not the host's layout: start over, member by member.
	*in = Input{History: hist, Summary: HistorySummary{Kinds: sum.Kinds[:0], Codes: sum.Codes[:0], Actions: sum.Actions[:0]}}
	return decodeMembers(data, in, alias, lazy)
}

// decodeMembers is decodeInput for any layout: in must be reset.
func decodeMembers(data []byte, in *Input, alias, lazy bool) error {
	r := reader{b: data, alias: alias}
	seenV := false
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "v":
			var v int64
			v, err = r.int()
			in.V, seenV = int(v), true
		case "now_ms":
			in.NowMS, err = r.int()
		case "jitter_seed":
			var v int64
			if v, err = r.int(); err == nil && (v < 0 || v > 1<<32-1) {
				err = plainError("jitter_seed " + itoa(v) + " out of range [0, 2^32)")
			}
			in.JitterSeed = uint32(v)
		case "instance":
			err = decodeInstance(&r, &in.Instance)
		case "event":
			err = decodeEvent(&r, &in.Event)
		case "attempt":
			in.Attempt, err = small(r.int())
		case "step":
			in.Step, err = small(r.int())
		case "history":
			in.History, err = decodeHistory(&r, in.History)
		case "settings":
			in.Settings, err = decodeSettings(&r)
		case "history_summary":
			err = decodeSummary(&r, &in.Summary)
			in.HasSummary = true
		case "proxy":
			err = decodeProxy(&r, &in.Proxy)
			in.HasProxy = true
		case "traffic":
			switch {
			case lazy && in.trafficRaw == nil:
				in.trafficRaw, err = r.skipObject()
			case in.trafficRaw != nil: // a second one: merge both, as DecodeInput does
				if err = in.decodePendingTraffic(); err == nil {
					err = decodeTraffic(&r, &in.Traffic)
				}
			default:
				err = decodeTraffic(&r, &in.Traffic)
			}
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
		return wrap("decoding input: ", err, "")
	}
	if !seenV || in.V != DocVersion {
		return wrap("decoding input: ", ErrVersion, ": v="+itoa(int64(in.V))+", want "+itoa(DocVersion))
	}
	in.Event.Cause = in.Event.Cause.orNone()
	return nil
}

func decodeInstance(r *reader, inst *Instance) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "id":
			inst.ID, err = r.str()
		case "name":
			inst.Name, err = r.str()
		case "phase":
			var s []byte
			s, err = r.rawString()
			inst.Phase = internPhase(s)
		case "qr_count":
			inst.QRCount, err = small(r.int())
		case "qr_limit":
			inst.QRLimit, err = small(r.int())
		case "connected_ms":
			inst.ConnectedMS, err = r.int()
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

func decodeEvent(r *reader, ev *Event) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "kind":
			var s []byte
			s, err = r.rawString()
			ev.Kind = internKind(s)
		case "code":
			ev.Code, err = small(r.int())
		case "raw":
			ev.Raw, err = r.str()
		case "message":
			ev.Message, err = r.str()
		case "cause":
			var s []byte
			s, err = r.rawString()
			ev.Cause = internCause(s)
		case "expire_ms":
			ev.ExpireMS, err = r.int()
		case "ban_code":
			ev.BanCode, err = small(r.int())
		case "signal":
			ev.Signal, err = r.str()
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

func decodeHistory(r *reader, hist []HistoryEntry) ([]HistoryEntry, error) {
	err := r.openArray()
	for first := true; err == nil; first = false {
		var more bool
		if more, err = r.element(first); err != nil || !more {
			break
		}
		if len(hist) >= MaxHistory {
			return hist, plainError("more than " + itoa(MaxHistory) + " entries")
		}
		hist = append(hist, HistoryEntry{})
		err = decodeHistoryEntry(r, &hist[len(hist)-1])
	}
	return hist, err
}

func decodeHistoryEntry(r *reader, h *HistoryEntry) error {
	err := r.openObject()
	for first := true; err == nil; first = false {
		var key []byte
		var ok bool
		if key, ok, err = r.member(first); err != nil || !ok {
			break
		}
		switch string(key) {
		case "at_ms":
			h.AtMS, err = r.int()
		case "kind":
			var s []byte
			s, err = r.rawString()
			h.Kind = internKind(s)
		case "code":
			h.Code, err = small(r.int())
		case "action":
			var s []byte
			s, err = r.rawString()
			h.Action = internAction(s)
		case "step":
			h.Step, err = small(r.int())
		default:
			err = r.skip(0)
		}
		if err != nil {
			err = fieldError(string(key), err)
		}
	}
	return err
}

// small checks that an integer read by reader.int fits in 32 bits:
// small(r.int()). It inlines, which it would not if it built the error's
// message itself.
func small(v int64, err error) (int, error) {
	if err == nil && int64(int32(v)) != v {
		err = rangeError(v)
	}
	return int(v), err
}

// rangeError reports an integer that does not fit in 32 bits.
type rangeError int64

func (e rangeError) Error() string { return itoa(int64(e)) + " out of 32-bit range" }

// A FieldError names the document field a decoding error is about.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldError(key string, err error) error {
	if err == nil {
		return nil
	}
	var fe *FieldError
	if errors.As(err, &fe) {
		return &FieldError{Field: key + "." + fe.Field, Err: fe.Err}
	}
	return &FieldError{Field: key, Err: err}
}
