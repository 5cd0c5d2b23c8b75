// Package disconnect asks the policy what to do about one disconnect: it
// encodes the input, calls the active module under its deadline, validates
// the decision and, when the module cannot answer, makes the native
// fallback decision instead, so that every disconnect gets a decision.
package disconnect

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/wahost/wahost/abi"
	defaultpolicy "github.com/wahost/wahost/policies/default"
)

// Answer is a policy module's reply to one input.
type Answer struct {
	// Out is the decision document.
	Out []byte
	// Module and SHA256 identify the module that answered (or failed),
	// Generation its slot's generation (0 when unknown).
	Module, SHA256 string
	Generation     uint64
}

// Policy runs input documents through the active policy module. The
// runtime's Slot, behind an adapter, is the production one.
type Policy interface {
	Decide(ctx context.Context, input []byte) (Answer, error)
}

// Versioned is a Policy that can tell which module it would ask and the
// ABI minor version that module implements; ok is false when none is
// loaded. The Decider uses it to keep events a module's version does not
// know from it.
type Versioned interface {
	Module() (name, sha256 string, minor uint16, ok bool)
}

// Warmer is a Policy that can get ready for its next decision ahead of
// it (a module woken from hibernation, an instance created).
type Warmer interface {
	Warm(ctx context.Context) error
}

// OlderABIError is the reason the native rules decided an event the
// module's ABI version does not know (a degraded event for a module older
// than 1.2). It is not a fault of the module.
type OlderABIError struct {
	Kind  abi.Kind
	Minor uint16
}

func (e *OlderABIError) Error() string {
	return "the module implements ABI 1." + strconv.Itoa(int(e.Minor)) + ", which has no " + string(e.Kind) +
		" event: the native rules decided"
}

// FaultKind labels the fallback metric.
func (e *OlderABIError) FaultKind() string { return "older_abi" }

// Outcome is a decision and how it was made.
type Outcome struct {
	// Decision is what the host carries out, validated.
	Decision abi.Decision
	// Doc is the decision document, as recorded with the disconnect.
	Doc []byte
	// Module and SHA256 identify the module asked ("" when none was
	// loaded), Generation its slot's generation.
	Module, SHA256 string
	Generation     uint64
	// Fallback is set when the native fallback decided; Fault says why.
	Fallback bool
	Fault    error
	// Latency is the time the decision took, fallback included.
	Latency time.Duration
}

// Decider makes decisions. It is safe for concurrent use.
type Decider struct {
	policy   Policy
	limits   func() abi.Limits
	metrics  *Metrics
	logger   *slog.Logger
	now      func() time.Time
	fallback defaultpolicy.Policy
	bufs     sync.Pool // *[]byte input buffers
}

// Options configure a Decider.
type Options struct {
	// Limits bound what a decision may ask for.
	Limits abi.Limits
	// LiveLimits, if set, is asked for the limits at every decision
	// instead of Limits (policy.max_delay is reloaded live).
	LiveLimits func() abi.Limits
	// Metrics records decisions; nil records nothing.
	Metrics *Metrics
	// Logger logs faults. Default slog.Default().
	Logger *slog.Logger
	// Now is the clock for latency. Default time.Now.
	Now func() time.Time
}

// New returns a Decider asking p.
func New(p Policy, opts Options) *Decider {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	limits := opts.LiveLimits
	if limits == nil {
		l := opts.Limits
		limits = func() abi.Limits { return l }
	}
	return &Decider{policy: p, limits: limits, metrics: opts.Metrics, logger: opts.Logger, now: opts.Now}
}

// Limits returns the limits decisions are validated against now.
func (d *Decider) Limits() abi.Limits { return d.limits() }

// Warm gets the Decider's policy ready for its next decision, when the
// policy can (Warmer).
func (d *Decider) Warm(ctx context.Context) error {
	if w, ok := d.policy.(Warmer); ok {
		return w.Warm(ctx)
	}
	return nil
}

// Decide decides one disconnect. It always returns a valid decision.
func (d *Decider) Decide(ctx context.Context, in *abi.Input) Outcome {
	return d.DecideWith(ctx, d.policy, in)
}

// DecideWith decides one disconnect with p instead of the Decider's own
// policy (an instance's override), with the same validation, fallback
// and metrics.
func (d *Decider) DecideWith(ctx context.Context, p Policy, in *abi.Input) Outcome {
	start := d.now()
	if in.Event.Kind == abi.KindDegraded {
		if v, ok := p.(Versioned); ok {
			if name, sha, minor, loaded := v.Module(); loaded && minor < abi.DegradedMinor {
				return d.native(ctx, in, start, name, sha, &OlderABIError{Kind: in.Event.Kind, Minor: minor})
			}
		}
	}
	bp, _ := d.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	*bp = in.AppendJSON((*bp)[:0])
	ans, err := p.Decide(ctx, *bp)
	d.bufs.Put(bp)

	out := Outcome{Module: ans.Module, SHA256: ans.SHA256, Generation: ans.Generation}
	limits := d.limits()
	if err == nil {
		var dec abi.Decision
		if dec, err = abi.ParseDecision(ans.Out, limits); err == nil {
			err = dec.CheckFor(in.Event.Kind)
		}
		if err == nil && dec.SwitchProxy != "" && olderThan(p, abi.ProxyMinor) {
			// A module older than 1.3 saw no proxy: a switch_proxy of
			// its own is a field its version does not define.
			dec.SwitchProxy = ""
		}
		if err == nil {
			out.Decision, out.Doc = dec, dec.AppendJSON(nil)
		} else {
			err = &InvalidDecisionError{Doc: ans.Out, Err: err}
		}
	}
	if err != nil {
		out.Fallback, out.Fault = true, err
		out.Decision = d.fallback.Fallback(in)
		if maxMS := effectiveMax(limits).Milliseconds(); out.Decision.Action == abi.ActionReconnect && out.Decision.DelayMS > maxMS {
			out.Decision.DelayMS = maxMS // the fallback obeys the limit too
		}
		out.Doc = out.Decision.AppendJSON(nil)
		d.logger.LogAttrs(ctx, slog.LevelWarn, "policy could not decide; fallback used",
			slog.String("instance", in.Instance.Name), slog.String("module", ans.Module),
			slog.String("error", err.Error()))
	}
	out.Latency = d.now().Sub(start)
	d.metrics.observe(&out)
	return out
}

// olderThan reports whether p's module implements an ABI minor version
// below minor.
func olderThan(p Policy, minor uint16) bool {
	v, ok := p.(Versioned)
	if !ok {
		return false
	}
	_, _, m, loaded := v.Module()
	return loaded && m < minor
}

// native decides in with the native rules because the module must not be
// asked (why says why), and says so in the decision's reason, which the
// history, the webhooks and the logs carry.
func (d *Decider) native(ctx context.Context, in *abi.Input, start time.Time, module, sha string, why error) Outcome {
	out := Outcome{Module: module, SHA256: sha, Fallback: true, Fault: why}
	out.Decision = d.fallback.Fallback(in)
	out.Decision.Reason = why.Error() + ": " + out.Decision.Reason
	if len(out.Decision.Reason) > abi.MaxReason {
		out.Decision.Reason = out.Decision.Reason[:abi.MaxReason]
	}
	out.Doc = out.Decision.AppendJSON(nil)
	d.logger.LogAttrs(ctx, slog.LevelInfo, "native rules decided an event the module does not know",
		slog.String("instance", in.Instance.Name), slog.String("module", module), slog.String("reason", why.Error()))
	out.Latency = d.now().Sub(start)
	d.metrics.observe(&out)
	return out
}

// InvalidDecisionError is a decision that failed the host's validation
// after the module returned it.
type InvalidDecisionError struct {
	Doc []byte
	Err error
}

func (e *InvalidDecisionError) Error() string { return "invalid decision: " + e.Err.Error() }
func (e *InvalidDecisionError) Unwrap() error { return e.Err }

// ErrNoPolicy is the fault when no module is loaded.
var ErrNoPolicy = errors.New("no policy module loaded")

func effectiveMax(l abi.Limits) time.Duration {
	if l.MaxDelay <= 0 {
		return abi.DefaultMaxDelay
	}
	return l.MaxDelay
}
