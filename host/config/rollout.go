package config

import (
	"encoding/json"
	"strings"
	"time"
)

// Rollout configures a policy rollout (policy.rollout): Module goes to a
// growing share of the instances, step by step, and is promoted or rolled
// back by comparing its outage episodes with the stable policy's. An
// empty Module means no rollout.
type Rollout struct {
	Module string `koanf:"module"`
	// SHA256, if set, pins Module's digest.
	SHA256 string `koanf:"sha256"`
	// Settings are the canary's settings; empty means policy.settings.
	Settings map[string]any `koanf:"settings"`
	// Steps are the canary's shares of the instances, in percent,
	// increasing, the last at most 100.
	Steps []float64 `koanf:"steps"`
	// StepDuration is the least time a step runs; MaxWait how long past
	// it a step waits for enough episodes before the rollout holds as
	// inconclusive.
	StepDuration time.Duration `koanf:"step_duration"`
	MaxWait      time.Duration `koanf:"max_wait"`
	// MinEpisodes is the fewest finished episodes each side needs in a
	// step.
	MinEpisodes int `koanf:"min_episodes"`
	// Confidence is the one-sided confidence a regression needs.
	Confidence float64 `koanf:"confidence"`
	// The tolerated regressions: recovery time relative (0.2 = 20 %
	// slower), the shares absolute (0.05 = five points), faults a count.
	ToleranceRecoveryTime   float64 `koanf:"tolerance_recovery_time"`
	ToleranceRecoveredShare float64 `koanf:"tolerance_recovered_share"`
	TolerancePermanentEnds  float64 `koanf:"tolerance_permanent_ends"`
	ToleranceFaults         int     `koanf:"tolerance_faults"`
	// Horizon cuts an episode still out this long after it started.
	Horizon time.Duration `koanf:"horizon"`
	// CheckInterval is how often the running step is judged.
	CheckInterval time.Duration `koanf:"check_interval"`
}

// DefaultRollout is policy.rollout's defaults, with no module.
func DefaultRollout() Rollout {
	return Rollout{
		Settings: map[string]any{}, Steps: []float64{5, 25, 50, 100}, StepDuration: 6 * time.Hour,
		MaxWait: 48 * time.Hour, MinEpisodes: 30, Confidence: 0.95, ToleranceRecoveryTime: 0.2,
		ToleranceRecoveredShare: 0.05, TolerancePermanentEnds: 0.02, Horizon: time.Hour, CheckInterval: time.Minute,
	}
}

// RolloutSettings returns policy.rollout.settings as JSON, nil when empty
// (the canary then runs with policy.settings).
func (r Rollout) RolloutSettings() []byte {
	if len(r.Settings) == 0 {
		return nil
	}
	b, _ := json.Marshal(r.Settings)
	return b
}

func (r *Rollout) validate(bad func(key, format string, args ...any)) {
	const k = "policy.rollout."
	if s := r.SHA256; s != "" && (len(s) != 64 || strings.Trim(strings.ToLower(s), "0123456789abcdef") != "") {
		bad(k+"sha256", "%q is not 64 hex digits", s)
	}
	if _, err := json.Marshal(r.Settings); err != nil {
		bad(k+"settings", "cannot be sent to the policy as JSON: %v", err)
	}
	if len(r.Steps) == 0 {
		bad(k+"steps", "name at least one share")
	}
	for i, s := range r.Steps {
		if s <= 0 || s > 100 || (i > 0 && s <= r.Steps[i-1]) {
			bad(k+"steps", "%v: shares must increase within (0, 100]", r.Steps)
			break
		}
	}
	if r.StepDuration <= 0 {
		bad(k+"step_duration", "must be positive")
	}
	if r.MaxWait < 0 {
		bad(k+"max_wait", "must not be negative")
	}
	if r.MinEpisodes < 1 {
		bad(k+"min_episodes", "%d, want at least 1: a step never passes on no data", r.MinEpisodes)
	}
	if r.Confidence < 0.5 || r.Confidence >= 1 {
		bad(k+"confidence", "%v is outside [0.5, 1)", r.Confidence)
	}
	if r.ToleranceRecoveryTime < 0 {
		bad(k+"tolerance_recovery_time", "must not be negative")
	}
	if r.ToleranceRecoveredShare < 0 || r.ToleranceRecoveredShare >= 1 {
		bad(k+"tolerance_recovered_share", "%v is outside [0, 1)", r.ToleranceRecoveredShare)
	}
	if r.TolerancePermanentEnds < 0 || r.TolerancePermanentEnds >= 1 {
		bad(k+"tolerance_permanent_ends", "%v is outside [0, 1)", r.TolerancePermanentEnds)
	}
	if r.ToleranceFaults < 0 {
		bad(k+"tolerance_faults", "must not be negative")
	}
	if r.Horizon <= 0 {
		bad(k+"horizon", "must be positive")
	}
	if r.CheckInterval <= 0 {
		bad(k+"check_interval", "must be positive")
	}
}
