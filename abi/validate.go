package abi

import (
	"fmt"
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
	invalid := func(field, format string, args ...any) error {
		return &FieldError{Field: field, Err: fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)}
	}
	switch d.Action {
	case ActionReconnect:
		if d.DelayMS < 0 || d.DelayMS > maxDelay.Milliseconds() {
			return invalid("delay_ms", "%d ms is outside [0, %d]", d.DelayMS, maxDelay.Milliseconds())
		}
		if d.Step == 0 {
			d.Step = StepReconnect
		}
		if d.Step < StepReconnect || d.Step > StepRecreate {
			return invalid("step", "%d is not a step (1 to 4)", d.Step)
		}
		if d.Cleanup != 0 || d.End != "" {
			return invalid("cleanup", "only a logout has a cleanup or an end")
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
			return invalid("end", "unknown ending %q (want closed, qr_limit or conflict)", d.End)
		}
	case "":
		return &FieldError{Field: "action", Err: fmt.Errorf("%w: missing", ErrInvalid)}
	default:
		return &FieldError{Field: "action", Err: fmt.Errorf("%w %q (want reconnect or logout)", ErrUnknownAction, d.Action)}
	}
	if d.QRCount != nil && *d.QRCount < 0 {
		return invalid("qr_count", "%d is negative", *d.QRCount)
	}
	if len(d.Rule) > MaxRule || !isRuleName(d.Rule) {
		return invalid("rule", "%q is not up to %d bytes of [a-z0-9_.-]", d.Rule, MaxRule)
	}
	if len(d.Reason) > MaxReason {
		return invalid("reason", "%d bytes, more than %d", len(d.Reason), MaxReason)
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
		return Decision{}, fmt.Errorf("%w: output is %d bytes, more than %d", ErrInvalid, len(out), MaxOutput)
	}
	d, err := DecodeDecision(out)
	if err != nil {
		return Decision{}, err
	}
	if err := d.Validate(l); err != nil {
		return Decision{}, fmt.Errorf("validating decision: %w", err)
	}
	return d, nil
}
