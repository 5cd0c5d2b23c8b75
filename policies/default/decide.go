package defaultpolicy

import (
	"bytes"
	"context"
	"strconv"
	"sync/atomic"

	"github.com/wahost/wahost/abi"
)

// Policy is the default policy, native. It is safe for concurrent use and
// keeps the parsed settings of the last call, since settings change only
// when the host's config does. The zero value is ready.
type Policy struct {
	last atomic.Pointer[parsed]
}

type parsed struct {
	raw []byte
	cfg Config
	err error
}

// Decide decides one disconnect. The error reports invalid settings, or a
// malformed traffic object of a degraded event: Decide reads the traffic
// through in.LoadTraffic, for degraded events only, so an input decoded
// by abi.DecodeInputLazy decodes it only then.
func (p *Policy) Decide(in *abi.Input) (abi.Decision, error) {
	pc := p.last.Load()
	if pc == nil || !bytes.Equal(pc.raw, in.Settings) {
		pc = &parsed{raw: bytes.Clone(in.Settings)}
		pc.cfg, pc.err = ParseConfig(in.Settings)
		p.last.Store(pc)
	}
	if pc.err != nil {
		return abi.Decision{}, &settingsError{pc.err}
	}
	if in.Event.Kind == abi.KindDegraded {
		if _, err := in.LoadTraffic(); err != nil {
			return abi.Decision{}, err
		}
	}
	return Decide(in, &pc.cfg), nil
}

// settingsError reports invalid settings, wrapping the parse error.
type settingsError struct{ err error }

func (e *settingsError) Error() string { return "default policy: " + e.err.Error() }
func (e *settingsError) Unwrap() error { return e.err }

// Decide applies the rules, in this order, and returns the first that
// fires (a degraded event has rules of its own: see decideDegraded):
//
//  1. qr_limit: the QR codes reached the limit: end the login.
//  2. code_table: a logout code ends the session (cleanup for the
//     cleanup codes; 411 ends it as a conflict).
//  3. history_abort: this code already dropped the session
//     HistoryAbortCount times within HistoryWindowMS: stop.
//  4. replaced_loop: a second 440 within ReplacedWindowMS: stop rather
//     than fight the other client for the session.
//  5. max_attempts: more than MaxAttempts reconnects in a row: stop.
//  6. storm_guard: StormCount disconnects within StormWindowMS: pause.
//  7. qr_refresh / qr_phase: in the QR phase, fetch fresh codes, or give a
//     code back after a temporary drop and reconnect at once (a connect
//     error that never reached WhatsApp backs off instead).
//  8. backoff: reconnect after base(code) × 2^(attempt−1), capped, plus
//     jitter, with the escalation step for this attempt.
//
// A reconnect of an instance behind a proxy may then move it to another
// proxy of its pool (ABI 1.3; see withProxy).
func Decide(in *abi.Input, c *Config) abi.Decision {
	d := decide(in, c)
	if in.HasProxy {
		d = withProxy(in, c, d)
	}
	return d
}

func decide(in *abi.Input, c *Config) abi.Decision {
	ev := &in.Event
	if ev.Kind == abi.KindDegraded {
		return decideDegraded(in, c)
	}
	code := ev.Code
	qrPhase := in.Instance.Phase == abi.PhaseQR || in.Instance.Phase == abi.PhasePairing

	if ev.Kind == abi.KindQRLimit || (qrPhase && in.Instance.QRLimit > 0 && in.Instance.QRCount >= in.Instance.QRLimit) {
		return logout(0, abi.EndQRLimit, "qr_limit", "QR code limit reached, please login again")
	}
	if contains(c.LogoutCodes, code) {
		end := abi.EndClosed
		if code == abi.CodeMultideviceMismatch {
			end = abi.EndConflict
		}
		return logout(c.cleanup(code), end, "code_table", describe(code))
	}
	if !qrPhase && c.HistoryAbortCount > 0 && countSince(in, c.HistoryWindowMS, code) >= int(c.HistoryAbortCount) {
		return logout(c.cleanup(code), abi.EndClosed, "history_abort",
			itoa(c.HistoryAbortCount)+" disconnects with code "+itoa(int64(code))+" in the window: a persistent problem")
	}
	if code == abi.CodeConnectionReplaced && c.ReplacedWindowMS > 0 && anySince(in, c.ReplacedWindowMS, code) {
		return logout(0, abi.EndClosed, "replaced_loop", "another client keeps replacing this session; stopping instead of fighting it")
	}
	if ev.Kind != abi.KindQRTimeout && int64(in.Attempt) > c.MaxAttempts {
		return logout(c.cleanup(code), abi.EndClosed, "max_attempts",
			"gave up after "+itoa(c.MaxAttempts)+" reconnect attempts")
	}
	if c.StormCount > 0 && countSince(in, c.StormWindowMS, 0)+1 >= int(c.StormCount) {
		return reconnect(c.jittered(in, c.StormPauseMS), abi.StepReconnect, "storm_guard",
			itoa(c.StormCount)+" disconnects within "+itoa(c.StormWindowMS)+" ms: pausing")
	}
	if qrPhase {
		if ev.Kind == abi.KindQRTimeout {
			return reconnect(c.QRReconnectDelayMS, abi.StepReconnect, "qr_refresh", "QR codes ran out; fetching new ones")
		}
		// A connect error (DNS, refused, timeout) is not a drop of a
		// working login: retrying at once would only loop. It backs off.
		if contains(c.QRTemporaryCodes, code) && ev.Kind != abi.KindConnectError {
			d := reconnect(c.QRReconnectDelayMS, abi.StepReconnect, "qr_phase", "temporary drop while showing QR codes")
			n := max(0, in.Instance.QRCount-1)
			d.QRCount = &n
			return d
		}
	}
	base, ok := c.DelaysMS[code]
	if !ok {
		base = c.DefaultDelayMS
	}
	attempt := max(in.Attempt, 1)
	delay := base
	for i := 1; i < attempt && delay < c.MaxDelayMS; i++ {
		delay *= 2
	}
	delay = min(delay, c.MaxDelayMS)
	step := c.Escalation[min(attempt, len(c.Escalation))-1]
	return reconnect(c.jittered(in, delay), int(step), "backoff", backoffReason(code, int64(attempt), c.MaxAttempts))
}

func (c *Config) cleanup(code int) abi.Scope {
	if contains(c.CleanupCodes, code) {
		return abi.ScopeAll
	}
	return 0
}

func (c *Config) jittered(in *abi.Input, delay int64) int64 {
	if c.JitterPct == 0 || delay == 0 {
		return delay
	}
	return delay + abi.Jitter(in.JitterSeed, 0, delay*c.JitterPct/100+1)
}

// countSince counts the disconnects within window ms before now, only
// those with code if code is not 0; degraded events, which did not drop
// the session, are not counted. Under ABI 1.1 the history may be only
// its last abi.HistoryTail entries: they answer when they reach back past
// the window; otherwise the summary does, exactly for its own windows and
// for any of 24 hours or more (the whole history), and by its next larger
// window for others, which can only count more.
func countSince(in *abi.Input, window int64, code int) int {
	from := in.NowMS - window
	h := in.History
	if !in.HasSummary || in.Summary.Total[2] <= len(h) || (len(h) > 0 && h[0].AtMS < from) {
		n := 0
		for i := range h {
			if h[i].AtMS >= from && h[i].Kind != abi.KindDegraded && (code == 0 || h[i].Code == code) {
				n++
			}
		}
		return n
	}
	w := 0
	for w < len(abi.SummaryWindowsMS)-1 && abi.SummaryWindowsMS[w] < window {
		w++
	}
	if code == 0 {
		return in.Summary.Total[w] - in.Summary.Kind(abi.KindDegraded).Counts[w]
	}
	return in.Summary.Code(code).Counts[w]
}

// anySince reports whether a disconnect with code happened within window
// ms before now: exactly, from the summary's last time when there is one.
func anySince(in *abi.Input, window int64, code int) bool {
	if in.HasSummary {
		t := in.Summary.Code(code)
		return t.Counts[2] > 0 && t.LastMS >= in.NowMS-window
	}
	return countSince(in, window, code) > 0
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func reconnect(delay int64, step int, rule, reason string) abi.Decision {
	return abi.Decision{V: abi.DocVersion, Action: abi.ActionReconnect, DelayMS: delay, Step: step, Rule: rule, Reason: reason}
}

func logout(scope abi.Scope, end abi.End, rule, reason string) abi.Decision {
	return abi.Decision{V: abi.DocVersion, Action: abi.ActionLogout, Cleanup: scope, End: end, Rule: rule, Reason: reason}
}

// describe gives the seed's wording for each code.
func describe(code int) string {
	switch code {
	case 428:
		return "connection closed unexpectedly"
	case 408:
		return "connection timeout"
	case 440:
		return "connection replaced"
	case 515:
		return "restart required"
	case 503:
		return "service unavailable"
	case 401:
		return "user logged out"
	case 403:
		return "access forbidden"
	case 402:
		return "account temporarily banned"
	case 406:
		return "not acceptable"
	case 500:
		return "bad session"
	case 411:
		return "multi-device mismatch"
	case 405:
		return "client outdated"
	}
	return "disconnected with code " + itoa(int64(code))
}

// DecideJSON decides from an input document and returns the decision
// document: the native policy behind the same byte interface a module
// offers, for scenario runs, differential tests and benchmarks.
func (p *Policy) DecideJSON(_ context.Context, input []byte) ([]byte, error) {
	// The input outlives neither the call nor its bytes, which the
	// decision does not alias: its strings can alias them, and the
	// traffic object is decoded only if a degraded event reads it, as in
	// the module.
	var in abi.Input
	if err := abi.DecodeInputLazy(abi.InputForMinor(abi.Minor, input), &in); err != nil {
		return nil, err
	}
	d, err := p.Decide(&in)
	if err != nil {
		return nil, err
	}
	return d.AppendJSON(nil), nil
}

// Fallback is the decision the host carries out when a policy module
// cannot answer: this policy's, natively, with the input's settings, or
// with the defaults where those settings are not this policy's. It always
// returns a valid decision.
func (p *Policy) Fallback(in *abi.Input) abi.Decision {
	d, err := p.Decide(in)
	if err != nil {
		cfg := Defaults()
		d = Decide(in, &cfg)
	}
	return d
}
