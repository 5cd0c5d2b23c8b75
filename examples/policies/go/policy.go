package main

import (
	"strconv"

	"github.com/wahost/wahost/abi"
)

// decide is the whole policy: the first rule that applies decides, and the
// decision's rule names it. It reads the time from in.NowMS, never from a
// clock, so a decision can be replayed and tested at any hour.
func decide(in *abi.Input) (abi.Decision, error) {
	c, err := parseConfig(in.Settings)
	if err != nil {
		return abi.Decision{}, err
	}
	now := localAt(in.NowMS, c.TZOffsetMin)
	office := c.isOpen(now)
	code := int64(in.Event.Code)
	qrPhase := in.Instance.Phase == abi.PhaseQR || in.Instance.Phase == abi.PhasePairing

	if in.Event.Kind == abi.KindDegraded {
		// An open session whose traffic degraded (ABI 1.2): leave it be;
		// whatsmeow's retry receipts repair most of it.
		return abi.Decision{V: abi.DocVersion, Action: abi.ActionKeep, Rule: "degraded_keep",
			Reason: "the session is open: keeping it"}, nil
	}
	if in.Event.Kind == abi.KindQRLimit || (qrPhase && in.Instance.QRLimit > 0 && in.Instance.QRCount >= in.Instance.QRLimit) {
		return logout(0, abi.EndQRLimit, "qr_limit", "QR code limit reached, please login again"), nil
	}
	switch code {
	case abi.CodeLoggedOut, abi.CodeForbidden:
		return logout(abi.ScopeAll, abi.EndClosed, "unlinked", "the device was unlinked: removing the session"), nil
	case abi.CodeMultideviceMismatch:
		return logout(0, abi.EndConflict, "conflict", "multi-device mismatch"), nil
	case abi.CodeTemporaryBan, abi.CodeNotAcceptable, abi.CodeClientOutdated:
		return logout(0, abi.EndClosed, "fatal_code", "reconnecting cannot fix code "+itoa(code)), nil
	case abi.CodeBadSession:
		if office {
			// Someone is there to scan a new QR code: start over cleanly.
			return logout(abi.ScopeAll, abi.EndClosed, "bad_session", "bad session: pair again ("+now.String()+")"), nil
		}
		// Nobody is there to scan: keep the keys and retry with a fresh
		// client, slowly, until the office opens.
		return reconnect(c.NightMaxDelayMS, abi.StepRecreate, "bad_session_after_hours",
			"bad session after hours ("+now.String()+"): keeping the session until the office opens"), nil
	}
	if qrPhase && in.Event.Kind == abi.KindQRTimeout {
		if office {
			return reconnect(0, abi.StepReconnect, "qr_refresh", "QR codes ran out: fetching new ones"), nil
		}
		// New codes now would expire unscanned: show them when the office opens.
		return reconnect(c.untilOpen(now), abi.StepReconnect, "qr_wait_office",
			"QR codes ran out after hours ("+now.String()+"): new ones when the office opens"), nil
	}
	attempt := max(int64(in.Attempt), 1)
	if office && attempt > c.MaxAttempts {
		return logout(0, abi.EndClosed, "max_attempts",
			"gave up after "+itoa(c.MaxAttempts)+" attempts in office hours ("+now.String()+")"), nil
	}

	// Backoff: base × 2^(attempt-1) up to the ceiling, plus up to
	// jitter_pct % drawn from the seed, so that sessions that dropped
	// together do not come back in the same millisecond.
	base, ceiling, rule := c.DayDelayMS, c.DayMaxDelayMS, "office_hours"
	if !office {
		base, ceiling, rule = c.NightDelayMS, c.NightMaxDelayMS, "after_hours"
	}
	delay := base
	for i := int64(1); i < attempt && delay > 0 && delay < ceiling; i++ {
		delay *= 2
	}
	delay = min(delay, ceiling)
	delay += abi.Jitter(in.JitterSeed, 0, delay*c.JitterPct/100+1)
	step := c.Escalation[min(attempt, int64(len(c.Escalation)))-1]
	if !office && step == abi.StepReset {
		// A reset deletes the keys and needs a QR scan: never after hours.
		step = abi.StepRecreate
	}
	return reconnect(min(delay, maxDelayMS), int(step), rule,
		"code "+itoa(code)+", attempt "+itoa(attempt)+" ("+now.String()+")"), nil
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func reconnect(delay int64, step int, rule, reason string) abi.Decision {
	return abi.Decision{V: abi.DocVersion, Action: abi.ActionReconnect, DelayMS: delay, Step: step, Rule: rule, Reason: reason}
}

func logout(scope abi.Scope, end abi.End, rule, reason string) abi.Decision {
	return abi.Decision{V: abi.DocVersion, Action: abi.ActionLogout, Cleanup: scope, End: end, Rule: rule, Reason: reason}
}
