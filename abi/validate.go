package abi

import (
	"strconv"
	"time"
)

// Limits bound what the host accepts from a policy.
type Limits struct {
	// MaxDelay is the longest reconnect delay. Zero means DefaultMaxDelay.
	MaxDelay time.Duration
}

// DefaultMaxDelay is the reconnect-delay ceiling when none is configured:
// long enough to wait out a temporary ban of a week.
const DefaultMaxDelay = 7 * 24 * time.Hour

// MaxReason is the longest reason string, in bytes.
const MaxReason = 1024

// MaxRule is the longest rule name, in bytes.
const MaxRule = 64

// Validate checks a decoded decision against the ABI and the limits. The
// error wraps ErrInvalid or ErrUnknownAction and names the field.
func (d *Decision) Validate(l Limits) error {
	maxDelay := l.MaxDelay
	if maxDelay <= 0 {
		maxDelay = DefaultMaxDelay
	}
	invalid := func(field, msg string) error {
		return &FieldError{Field: field, Err: wrap("", ErrInvalid, ": "+msg)}
	}
	switch d.Action {
	case ActionReconnect:
		if d.DelayMS < 0 || d.DelayMS > maxDelay.Milliseconds() {
			return invalid("delay_ms", itoa(d.DelayMS)+" ms is outside [0, "+itoa(maxDelay.Milliseconds())+"]")
		}
		if d.Step == 0 {
			d.Step = StepReconnect
		}
		if d.Step < StepReconnect || d.Step > StepRecreate {
			return invalid("step", itoa(int64(d.Step))+" is not a step (1 to 4)")
		}
		if d.Cleanup != 0 || d.End != "" {
			return invalid("cleanup", "only a logout has a cleanup or an end")
		}
		if len(d.SwitchProxy) > MaxProxyID {
			return invalid("switch_proxy", "proxy id "+quoteProxyID(d.SwitchProxy)+" is over "+itoa(MaxProxyID)+" bytes")
		}
	case ActionLogout:
		if d.DelayMS != 0 || d.Step != 0 {
			return invalid("delay_ms", "a logout has no delay or step")
		}
		switch d.End {
		case "":
			d.End = EndClosed
		case EndClosed, EndQRLimit, EndConflict:
		default:
			return invalid("end", "unknown ending "+strconv.Quote(string(d.End))+" (want closed, qr_limit or conflict)")
		}
	case ActionKeep:
		if d.DelayMS != 0 || d.Step != 0 || d.Cleanup != 0 || d.End != "" {
			return invalid("delay_ms", "keep has no delay, step, cleanup or end")
		}
	case "":
		return &FieldError{Field: "action", Err: wrap("", ErrInvalid, ": missing")}
	default:
		return &FieldError{Field: "action", Err: wrap("", ErrUnknownAction, " "+strconv.Quote(string(d.Action))+" (want reconnect, logout or keep)")}
	}
	if d.SwitchProxy != "" && d.Action != ActionReconnect {
		return invalid("switch_proxy", "only a reconnect switches the proxy")
	}
	if d.QRCount != nil && *d.QRCount < 0 {
		return invalid("qr_count", itoa(int64(*d.QRCount))+" is negative")
	}
	if len(d.Rule) > MaxRule || !isRuleName(d.Rule) {
		return invalid("rule", strconv.Quote(d.Rule)+" is not up to "+itoa(MaxRule)+" bytes of [a-z0-9_.-]")
	}
	if len(d.Reason) > MaxReason {
		return invalid("reason", itoa(int64(len(d.Reason)))+" bytes, more than "+itoa(MaxReason))
	}
	return nil
}

// CheckFor checks what Validate cannot: that the decision fits the event
// it answers. ActionKeep answers only KindDegraded.
func (d *Decision) CheckFor(kind Kind) error {
	if d.Action == ActionKeep && kind != KindDegraded {
		return &FieldError{Field: "action", Err: wrap("", ErrInvalid, ": keep answers only a degraded event, not "+strconv.Quote(string(kind)))}
	}
	return nil
}

func isRuleName(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ParseDecision decodes and validates a policy's output in one step: what
// the host runs on every byte a module returns.
func ParseDecision(out []byte, l Limits) (Decision, error) {
	if len(out) > MaxOutput {
		return Decision{}, wrap("", ErrInvalid, ": output is "+itoa(int64(len(out)))+" bytes, more than "+itoa(MaxOutput))
	}
	d, err := DecodeDecision(out)
	if err != nil {
		return Decision{}, err
	}
	if err := d.Validate(l); err != nil {
		return Decision{}, wrap("validating decision: ", err, "")
	}
	return d, nil
}
