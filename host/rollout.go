package host

import (
	"context"
	"fmt"
	"time"

	"github.com/wahost/wahost/abi"
	"github.com/wahost/wahost/host/config"
	"github.com/wahost/wahost/host/rollout"
	"github.com/wahost/wahost/storage"
)

// EventPolicyRollout announces a rollout's promotion, rollback, hold or
// abort.
const EventPolicyRollout = "policy.rollout"

// rolloutSpecOf returns the config's rollout, nil when it names no module.
func rolloutSpecOf(cfg *config.Config) *rollout.Spec {
	r := cfg.Policy.Rollout
	if r.Module == "" {
		return nil
	}
	return &rollout.Spec{
		Module: r.Module, SHA256: r.SHA256, Settings: abi.Settings(r.RolloutSettings()), Steps: r.Steps,
		Step: rollout.Step{Duration: r.StepDuration, MaxWait: r.MaxWait},
		Criteria: rollout.Criteria{MinEpisodes: r.MinEpisodes, Confidence: r.Confidence, Tolerance: rollout.Tolerance{
			RecoveryTime: r.ToleranceRecoveryTime, RecoveredShare: r.ToleranceRecoveredShare,
			PermanentEnds: r.TolerancePermanentEnds, Faults: r.ToleranceFaults,
		}},
	}
}

// newRollout builds the rollout controller and applies the config's
// rollout.
func (h *Host) newRollout(ctx context.Context, cfg *config.Config) error {
	h.rollout = rollout.New(rollout.Config{
		Store: h.store, Policies: h.policy, Clock: h.clock, Logger: h.log, Metrics: rollout.NewMetrics(h.reg),
		Horizon: func() time.Duration { return h.config().Policy.Rollout.Horizon },
		Announce: func(ctx context.Context, tx storage.Tx, e rollout.Event) error {
			return h.hooks.Enqueue(ctx, tx, storage.Instance{ID: HostInstance}, EventPolicyRollout, e)
		},
		Announced: h.hooks.Nudge,
	})
	if err := h.rollout.Configure(ctx, rolloutSpecOf(cfg)); err != nil {
		return fmt.Errorf("starting the policy rollout: %w", err)
	}
	return nil
}

// runRollout judges the rollout every policy.rollout.check_interval.
func (h *Host) runRollout(ctx context.Context) error {
	return h.rollout.Run(ctx, func() time.Duration { return h.config().Policy.Rollout.CheckInterval })
}
