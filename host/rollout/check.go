package rollout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wahost/wahost/host/executor"
	"github.com/wahost/wahost/host/policy"
	"github.com/wahost/wahost/storage"
)

// ErrNoRollout is returned by the operations when no rollout is
// configured, ErrState when the rollout's status does not allow them.
var (
	ErrNoRollout = errors.New("no policy rollout is configured (policy.rollout)")
	ErrState     = errors.New("the rollout's status does not allow this")
)

// Run checks the rollout every interval() until ctx ends. With no
// rollout configured it holds no timer and waits for Configure.
func (c *Controller) Run(ctx context.Context, interval func() time.Duration) error {
	for {
		c.mu.Lock()
		configured := c.spec != nil
		c.mu.Unlock()
		if !configured {
			select {
			case <-ctx.Done():
				return nil
			case <-c.wake:
			}
			continue
		}
		t := c.cfg.Clock.NewTimer(interval())
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-c.wake:
			t.Stop()
			continue
		case <-t.C():
		}
		if err := c.Check(ctx); err != nil {
			c.cfg.Logger.WarnContext(ctx, "checking the policy rollout", "error", err)
		}
	}
}

// CutEpisodes ends the episodes still open past the horizon.
func (c *Controller) CutEpisodes(ctx context.Context) (int64, error) {
	now := c.cfg.Clock.Now()
	n, err := c.cfg.Store.CutEpisodes(ctx, now.Add(-c.cfg.Horizon()), now)
	if err != nil {
		return n, fmt.Errorf("cutting episodes: %w", err)
	}
	return n, nil
}

// Check writes a state change a failed unit of work left unsaved, takes
// the stored state when another host on the same store moved the
// rollout, cuts the episodes past the horizon, then judges the running
// step once: it rolls back on a regression or a faulting canary, advances a
// step that passed, promotes after the last, and holds as inconclusive a
// step that found too few episodes.
func (c *Controller) Check(ctx context.Context) error {
	if _, err := c.CutEpisodes(ctx); err != nil {
		return err
	}
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.flushLocked(ctx); err != nil {
		return err
	}
	if err := c.adoptLocked(ctx); err != nil {
		return err
	}
	if c.spec == nil || c.state.Status != StatusRunning {
		return nil
	}
	if st := c.cfg.Policies.CanaryStatus(); st.Trips > 0 {
		c.rollbackLocked(ctx, "faults", "the canary module tripped its breaker", nil)
		return nil
	}
	eps, err := c.cfg.Store.Episodes(ctx, c.state.StepStarted)
	if err != nil {
		return fmt.Errorf("reading episodes: %w", err)
	}
	canary, stable := c.samples(eps)
	v := Judge(c.spec.Criteria, canary, stable)
	c.state.CanaryEpisodes, c.state.StableEpisodes = canary.Episodes, stable.Episodes
	c.state.Detail, _ = json.Marshal(v)
	switch c.spec.Step.Next(now.Sub(c.state.StepStarted), v) {
	case ActionRollback:
		c.rollbackLocked(ctx, v.Measure, fmt.Sprintf("the canary's %s is worse than the stable policy's", v.Measure), &v)
	case ActionInconclusive:
		c.state.Status = StatusInconclusive
		c.state.Reason = fmt.Sprintf("step %d found too few episodes (%d canary, %d stable, %d needed)",
			c.state.Step+1, canary.Episodes, stable.Episodes, c.spec.Criteria.MinEpisodes)
		e := c.eventLocked(&v, "")
		c.saveLocked(ctx, &e)
		c.cfg.Logger.WarnContext(ctx, "policy rollout held: inconclusive", "reason", c.state.Reason)
	case ActionAdvance:
		// A step of 100 % leaves no stable instance to judge the canary
		// against: passing the step before it is passing the rollout.
		if c.state.Step == len(c.spec.Steps)-1 || c.spec.Steps[c.state.Step+1] >= 100 {
			return c.promoteLocked(ctx, "every step passed")
		}
		c.state.Step++
		c.state.StepStarted = now
		c.state.Reason = fmt.Sprintf("step %d passed", c.state.Step)
		c.saveLocked(ctx, nil)
		c.cfg.Logger.InfoContext(ctx, "policy rollout advanced", "step", c.state.Step+1,
			"share_pct", c.spec.Steps[c.state.Step])
	default:
		c.saveLocked(ctx, nil)
	}
	return nil
}

// adoptLocked takes the stored state of the same rollout when it moved
// on without this controller: several hosts on one store share one
// rollout, and whichever judges, pauses or promotes it first moves it for
// all of them. A promotion made elsewhere is carried out here too.
func (c *Controller) adoptLocked(ctx context.Context) error {
	if c.spec == nil || c.dirty {
		return nil
	}
	st, err := c.cfg.Store.Rollout(ctx)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the rollout: %w", err)
	}
	cur := c.state
	if st.ID != cur.ID || (st.Status == cur.Status && st.Step == cur.Step &&
		st.StepStarted.Equal(storage.Timestamp(cur.StepStarted))) {
		return nil
	}
	if st.Status == StatusPromoted && cur.Status != StatusPromoted {
		canary := policy.Canary{Module: c.spec.Module, SHA256: st.SHA256, Settings: c.settings}
		if err := c.cfg.Policies.Promote(ctx, canary); err != nil {
			return fmt.Errorf("carrying out a promotion made by another host: %w", err)
		}
	}
	st.Step = min(st.Step, len(c.spec.Steps)-1)
	c.state = st
	c.cfg.Metrics.state(c.state, c.spec)
	c.cfg.Logger.InfoContext(ctx, "policy rollout moved by another host", "status", st.Status,
		"step", st.Step+1, "reason", st.Reason)
	return nil
}

// samples splits the step's finished, unmixed episodes into the canary's
// and the stable policy's.
func (c *Controller) samples(eps []storage.Episode) (canary, stable Sample) {
	for _, e := range eps {
		if e.Open() || e.Mixed || e.EndedAt == nil {
			continue
		}
		var s *Sample
		switch {
		case e.Arm == executor.ArmCanary && e.Policy == c.state.Policy:
			s = &canary
		case e.Arm == executor.ArmStable && e.Policy == c.state.StablePolicy:
			s = &stable
		default:
			continue
		}
		s.Episodes++
		switch e.Outcome {
		case storage.EpisodeRecovered:
			s.Recovered++
			s.RecoverySeconds = append(s.RecoverySeconds, e.EndedAt.Sub(e.StartedAt).Seconds())
		case storage.EpisodeEnded:
			s.Permanent++
		}
	}
	return canary, stable
}

// State is the rollout's state, for the API.
type State struct {
	storage.RolloutState
	Share  float64   `json:"share_pct"`
	Steps  []float64 `json:"steps_pct"`
	Faults int       `json:"faults"`
}

// MarshalJSON writes the state with its latest verdict.
func (s State) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		ID             string          `json:"id"`
		Module         string          `json:"module"`
		SHA256         string          `json:"sha256"`
		Step           int             `json:"step"`
		Share          float64         `json:"share_pct"`
		Steps          []float64       `json:"steps_pct"`
		Status         string          `json:"status"`
		Reason         string          `json:"reason,omitempty"`
		StartedAt      time.Time       `json:"started_at"`
		StepStarted    time.Time       `json:"step_started_at"`
		CanaryEpisodes int             `json:"canary_episodes"`
		StableEpisodes int             `json:"stable_episodes"`
		Faults         int             `json:"faults"`
		Verdict        json.RawMessage `json:"verdict,omitempty"`
	}{s.ID, s.Module, s.SHA256, s.Step, s.Share, s.Steps, s.Status, s.Reason, s.StartedAt, s.StepStarted,
		s.CanaryEpisodes, s.StableEpisodes, s.Faults, s.Detail})
}

// Status returns the rollout's state; ok is false when none is
// configured.
func (c *Controller) Status() (st State, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.spec == nil {
		return State{}, false
	}
	return State{RolloutState: c.state, Share: c.spec.Steps[c.state.Step], Steps: c.spec.Steps, Faults: c.faults}, true
}

// Operate runs an operator's command: pause, resume, promote or abort.
func (c *Controller) Operate(ctx context.Context, op string) (State, error) {
	c.mu.Lock()
	if c.spec == nil {
		c.mu.Unlock()
		return State{}, ErrNoRollout
	}
	var err error
	switch s := c.state.Status; op {
	case "pause":
		if s != StatusRunning {
			err = fmt.Errorf("pause a rollout that is %s: %w", s, ErrState)
			break
		}
		c.state.Status, c.state.Reason = StatusPaused, "paused by the operator"
		c.saveLocked(ctx, nil)
	case "resume":
		if s != StatusPaused && s != StatusInconclusive {
			err = fmt.Errorf("resume a rollout that is %s: %w", s, ErrState)
			break
		}
		if s == StatusInconclusive {
			c.state.StepStarted = c.cfg.Clock.Now() // a fresh wait for episodes
		}
		c.state.Status, c.state.Reason = StatusRunning, "resumed by the operator"
		c.saveLocked(ctx, nil)
	case "promote":
		if !live(s) {
			err = fmt.Errorf("promote a rollout that is %s: %w", s, ErrState)
			break
		}
		err = c.promoteLocked(ctx, "promoted by the operator")
	case "abort":
		if !live(s) {
			err = fmt.Errorf("abort a rollout that is %s: %w", s, ErrState)
			break
		}
		c.state.Status, c.state.Reason = StatusAborted, "aborted by the operator"
		e := c.eventLocked(nil, "")
		c.saveLocked(ctx, &e)
		c.cfg.Metrics.finished(StatusAborted, "")
	default:
		err = fmt.Errorf("unknown rollout operation %q: %w", op, ErrState)
	}
	c.mu.Unlock()
	st, _ := c.Status()
	return st, err
}
