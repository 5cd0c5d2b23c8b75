package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/clock"
	"github.com/wahost/wahost/host/disconnect"
	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/storage"
)

// Statuses of a rollout.
const (
	StatusRunning      = "running"
	StatusPaused       = "paused"
	StatusInconclusive = "inconclusive" // held: a step found too few episodes
	StatusRolledBack   = "rolled_back"
	StatusPromoted     = "promoted"
	StatusAborted      = "aborted"
)

// Spec is a rollout as the config describes it (policy.rollout).
type Spec struct {
	Module, SHA256 string
	// Settings are the canary's settings; empty means the active ones.
	Settings abi.Settings
	// Steps are the canary's shares of the instances, in percent.
	Steps    []float64
	Step     Step
	Criteria Criteria
}

// Policies is the policy manager's surface a rollout drives.
type Policies interface {
	LoadCanary(ctx context.Context, c policy.Canary) (sha string, settings abi.Settings, err error)
	CanaryPolicy() disconnect.Policy
	CanaryStatus() policy.SlotStatus
	Promote(ctx context.Context, c policy.Canary) error
	Status() policy.Status
	Settings() abi.Settings
}

// Store is what a rollout keeps in the store: its episodes, its state,
// and the units of work that write the state with its webhook.
type Store interface {
	storage.Outcomes
	InTx(ctx context.Context, fn func(tx storage.Tx) error) error
}

// Config configures a Controller.
type Config struct {
	Store    Store
	Policies Policies
	Clock    clock.Clock
	Logger   *slog.Logger
	// Announce queues a policy.rollout webhook in tx, the unit of work
	// that writes the state change it announces: both are committed, or
	// neither.
	Announce func(ctx context.Context, tx storage.Tx, e Event) error
	// Announced, if set, is called after a unit of work that queued
	// webhooks commits (to wake the dispatcher).
	Announced func()
	Metrics   *Metrics
	// Horizon returns how long an episode may stay open before it is cut;
	// nil means an hour.
	Horizon func() time.Duration
}

// Event is the policy.rollout webhook's payload.
type Event struct {
	Status string  `json:"status"`
	ID     string  `json:"rollout"`
	Module string  `json:"module"`
	SHA256 string  `json:"sha256"`
	Step   int     `json:"step"`
	Share  float64 `json:"share_pct"`
	Reason string  `json:"reason,omitempty"`
	// Measure is the measure that regressed, for rolled_back.
	Measure string   `json:"measure,omitempty"`
	Verdict *Verdict `json:"verdict,omitempty"`
}

// Controller runs one rollout at a time. It is safe for concurrent use.
type Controller struct {
	cfg Config

	wake chan struct{} // Configure wakes Run

	mu       sync.Mutex // guards spec, state, settings, faults, dirty and unsent
	spec     *Spec
	state    storage.RolloutState
	settings abi.Settings
	faults   int
	// dirty is set while state differs from the stored state, unsent
	// holds the webhooks of those changes: a unit of work that failed is
	// written again, whole, by the next check.
	dirty  bool
	unsent []Event
}

var _ executor.Rollout = (*Controller)(nil)

// New returns a controller with no rollout; Configure starts one.
func New(cfg Config) *Controller {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Horizon == nil {
		cfg.Horizon = func() time.Duration { return time.Hour }
	}
	return &Controller{cfg: cfg, wake: make(chan struct{}, 1)}
}

// live reports whether the canary decides for its share.
func live(status string) bool {
	return status == StatusRunning || status == StatusPaused || status == StatusInconclusive
}

// InShare reports whether an instance falls in a share (percent) of the
// instances: a stable hash of its id, so a larger share only adds
// instances.
func InShare(instanceID string, pct float64) bool {
	h := fnv.New64a()
	h.Write([]byte(instanceID))
	return float64(h.Sum64()%10000) < pct*100
}

// Canary implements executor.Rollout.
func (c *Controller) Canary(instanceID string) (disconnect.Policy, abi.Settings, string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil || !live(c.state.Status) {
		return nil, nil, ""
	}
	if InShare(instanceID, c.spec.Steps[c.state.Step]) {
		return c.cfg.Policies.CanaryPolicy(), c.settings, executor.ArmCanary
	}
	return nil, nil, executor.ArmStable
}

// Fault implements executor.Rollout: past the tolerated faults the canary
// is rolled back at once.
func (c *Controller) Fault(ctx context.Context, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil || !live(c.state.Status) {
		return
	}
	c.faults++
	if c.faults > c.spec.Criteria.Tolerance.Faults {
		c.rollbackLocked(ctx, "faults", fmt.Sprintf("the canary module faulted: %v", err), nil)
	}
}

// Configure applies the config's rollout (nil: none). The same module and
// settings as the stored rollout resume it where it was; another starts
// a new rollout at the first step. An error leaves the rollout as it was.
func (c *Controller) Configure(ctx context.Context, spec *Spec) error {
	defer func() {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}()
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := c.cfg.Store.Rollout(ctx)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("reading the rollout: %w", err)
	}
	if spec == nil {
		if c.spec != nil && live(c.state.Status) {
			c.state.Status, c.state.Reason = StatusAborted, "policy.rollout was removed from the config"
			c.saveLocked(ctx, nil)
		}
		c.spec = nil
		return nil
	}
	canary := policy.Canary{Module: spec.Module, SHA256: spec.SHA256, Settings: spec.Settings}
	sha, settings, err := c.cfg.Policies.LoadCanary(ctx, canary)
	if err != nil {
		return err
	}
	digest := executor.PolicyDigest(sha, settings)
	now := c.cfg.Clock.Now()
	if st.Policy != digest {
		act := c.cfg.Policies.Status().Active
		st = storage.RolloutState{
			ID: fmt.Sprintf("%.12s-%d", sha, now.Unix()), Module: spec.Module, SHA256: sha, Policy: digest,
			StablePolicy: executor.PolicyDigest(act.SHA256, c.cfg.Policies.Settings()),
			Status:       StatusRunning, StartedAt: now, StepStarted: now,
		}
		c.cfg.Logger.InfoContext(ctx, "policy rollout started", "module", spec.Module, "sha256", sha,
			"share_pct", spec.Steps[0])
	}
	st.Step = min(st.Step, len(spec.Steps)-1)
	if st.Status == StatusPromoted {
		if p := c.cfg.Policies.Status().Active; p.SHA256 != sha {
			canary.SHA256 = sha
			if err := c.cfg.Policies.Promote(ctx, canary); err != nil {
				return err
			}
		}
	}
	c.spec, c.state, c.settings, c.faults = spec, st, settings, 0
	c.saveLocked(ctx, nil)
	return nil
}

// saveLocked writes the state, and with it the webhook e if not nil, in
// one unit of work. A failure is logged and leaves both pending: the next
// check writes them again, together, so a change is never stored without
// its webhook nor announced twice.
func (c *Controller) saveLocked(ctx context.Context, e *Event) {
	c.dirty = true
	if e != nil {
		c.unsent = append(c.unsent, *e)
	}
	c.cfg.Metrics.state(c.state, c.spec)
	if err := c.flushLocked(ctx); err != nil {
		c.cfg.Logger.WarnContext(ctx, "saving the rollout state; it is saved again at the next check", "error", err)
	}
}

// flushLocked writes the pending state and webhooks in one unit of work.
func (c *Controller) flushLocked(ctx context.Context) error {
	if !c.dirty {
		return nil
	}
	err := c.cfg.Store.InTx(ctx, func(tx storage.Tx) error {
		if err := tx.PutRollout(ctx, c.state); err != nil {
			return err
		}
		for _, e := range c.unsent {
			if c.cfg.Announce == nil {
				break
			}
			if err := c.cfg.Announce(ctx, tx, e); err != nil {
				return fmt.Errorf("queueing the %s webhook: %w", e.Status, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("saving the rollout state: %w", err)
	}
	announced := len(c.unsent) > 0
	c.dirty, c.unsent = false, nil
	if announced && c.cfg.Announced != nil {
		c.cfg.Announced()
	}
	return nil
}

// eventLocked builds the webhook of the current state.
func (c *Controller) eventLocked(v *Verdict, measure string) Event {
	e := Event{Status: c.state.Status, ID: c.state.ID, Module: c.state.Module, SHA256: c.state.SHA256,
		Step: c.state.Step, Reason: c.state.Reason, Measure: measure, Verdict: v}
	if c.spec != nil {
		e.Share = c.spec.Steps[c.state.Step]
	}
	return e
}

func (c *Controller) rollbackLocked(ctx context.Context, measure, reason string, v *Verdict) {
	c.state.Status, c.state.Reason = StatusRolledBack, reason
	if v != nil {
		c.state.Detail, _ = json.Marshal(v)
	}
	e := c.eventLocked(v, measure)
	c.saveLocked(ctx, &e)
	c.cfg.Logger.ErrorContext(ctx, "policy rollout rolled back; its instances return to the stable policy",
		"module", c.state.Module, "sha256", c.state.SHA256, "step", c.state.Step, "measure", measure, "reason", reason)
	c.cfg.Metrics.finished(StatusRolledBack, measure)
}

func (c *Controller) promoteLocked(ctx context.Context, reason string) error {
	canary := policy.Canary{Module: c.spec.Module, SHA256: c.state.SHA256, Settings: c.settings}
	if err := c.cfg.Policies.Promote(ctx, canary); err != nil {
		return err
	}
	c.state.Status, c.state.Reason = StatusPromoted, reason
	e := c.eventLocked(nil, "")
	c.saveLocked(ctx, &e)
	c.cfg.Logger.InfoContext(ctx, "policy rollout promoted; set policy.module to keep it",
		"module", c.state.Module, "sha256", c.state.SHA256)
	c.cfg.Metrics.finished(StatusPromoted, "")
	return nil
}
