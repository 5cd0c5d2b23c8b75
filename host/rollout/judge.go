package rollout

import (
	"slices"
	"time"
)

// Sample is one side's episodes in a step: the canary's or the stable
// policy's.
type Sample struct {
	Episodes  int // episodes that ended (recovered, ended or cut), mixed ones left out
	Recovered int
	Permanent int // ended for good
	// RecoverySeconds are the recovered episodes' times to recover.
	RecoverySeconds []float64
}

// Tolerance is how much worse than the stable policy the canary may be
// before it is rolled back.
type Tolerance struct {
	// RecoveryTime is the tolerated slowdown, relative: 0.2 lets the
	// canary's recovery times be up to 20 % longer.
	RecoveryTime float64 `json:"recovery_time"`
	// RecoveredShare and PermanentEnds are tolerated differences in the
	// shares of episodes, absolute: 0.05 is five points.
	RecoveredShare float64 `json:"recovered_share"`
	PermanentEnds  float64 `json:"permanent_ends"`
	// Faults is how many faults of the canary module are tolerated; the
	// next one rolls it back.
	Faults int `json:"faults"`
}

// Criteria configure a judgement.
type Criteria struct {
	// MinEpisodes is the fewest episodes each side needs.
	MinEpisodes int
	// Confidence is the one-sided confidence a regression needs (0.95:
	// a p-value below 0.05).
	Confidence float64
	Tolerance  Tolerance
}

// Figures summarise one side, for verdicts and webhooks.
type Figures struct {
	Episodes       int     `json:"episodes"`
	Recovered      int     `json:"recovered"`
	Permanent      int     `json:"permanent"`
	RecoveredShare float64 `json:"recovered_share"`
	PermanentShare float64 `json:"permanent_share"`
	P50Seconds     float64 `json:"recovery_p50_seconds"`
	P90Seconds     float64 `json:"recovery_p90_seconds"`
	P99Seconds     float64 `json:"recovery_p99_seconds"`
}

func figures(s Sample) Figures {
	f := Figures{Episodes: s.Episodes, Recovered: s.Recovered, Permanent: s.Permanent}
	if s.Episodes > 0 {
		f.RecoveredShare = float64(s.Recovered) / float64(s.Episodes)
		f.PermanentShare = float64(s.Permanent) / float64(s.Episodes)
	}
	t := slices.Sorted(slices.Values(s.RecoverySeconds))
	f.P50Seconds, f.P90Seconds, f.P99Seconds = Quantile(t, 0.5), Quantile(t, 0.9), Quantile(t, 0.99)
	return f
}

// Test is one measure's test in a verdict.
type Test struct {
	Measure string  `json:"measure"` // recovery_time, recovered_share, permanent_ends
	Method  string  `json:"method"`  // mann_whitney_u, proportions
	Z       float64 `json:"z"`
	P       float64 `json:"p"`
	// Regressed is set when P is below 1 − confidence: the canary is
	// worse than the stable policy beyond the tolerance.
	Regressed bool `json:"regressed"`
}

// Verdict results.
const (
	VerdictWait      = "wait"      // too few episodes to judge
	VerdictPass      = "pass"      // not worse beyond the tolerance
	VerdictRegressed = "regressed" // worse beyond the tolerance
)

// Verdict is one judgement of the canary against the stable policy.
type Verdict struct {
	Result string `json:"result"`
	// Measure is the first measure that regressed.
	Measure string  `json:"measure,omitempty"`
	Canary  Figures `json:"canary"`
	Stable  Figures `json:"stable"`
	Tests   []Test  `json:"tests,omitempty"`
}

// Judge compares the canary's sample with the stable policy's. It never
// passes on too little data: below MinEpisodes on either side it waits.
func Judge(c Criteria, canary, stable Sample) Verdict {
	v := Verdict{Canary: figures(canary), Stable: figures(stable)}
	if canary.Episodes < max(c.MinEpisodes, 1) || stable.Episodes < max(c.MinEpisodes, 1) {
		v.Result = VerdictWait
		return v
	}
	add := func(measure, method string, z, p float64) {
		v.Tests = append(v.Tests, Test{Measure: measure, Method: method, Z: z, P: p})
	}
	if len(canary.RecoverySeconds) > 0 && len(stable.RecoverySeconds) > 0 {
		scaled := make([]float64, len(stable.RecoverySeconds))
		for i, s := range stable.RecoverySeconds {
			scaled[i] = s * (1 + c.Tolerance.RecoveryTime)
		}
		mw := MannWhitneyGreater(canary.RecoverySeconds, scaled)
		add("recovery_time", "mann_whitney_u", mw.Z, mw.P)
	}
	rec := ProportionGreater(stable.Recovered, stable.Episodes, canary.Recovered, canary.Episodes, c.Tolerance.RecoveredShare)
	add("recovered_share", "proportions", rec.Z, rec.P)
	perm := ProportionGreater(canary.Permanent, canary.Episodes, stable.Permanent, stable.Episodes, c.Tolerance.PermanentEnds)
	add("permanent_ends", "proportions", perm.Z, perm.P)
	alpha := 1 - c.Confidence
	for i := range v.Tests {
		t := &v.Tests[i]
		t.Regressed = t.P < alpha
		if t.Regressed && v.Measure == "" {
			v.Measure = t.Measure
		}
	}
	v.Result = VerdictPass
	if v.Measure != "" {
		v.Result = VerdictRegressed
	}
	return v
}

// Step configures how long a step lasts.
type Step struct {
	// Duration is the least time a step runs before it may pass.
	Duration time.Duration
	// MaxWait is how long past Duration a step may wait for episodes
	// before the rollout holds as inconclusive.
	MaxWait time.Duration
}

// Actions a step's judgement leads to.
const (
	ActionWait         = "wait"
	ActionAdvance      = "advance"
	ActionRollback     = "rollback"
	ActionInconclusive = "inconclusive"
)

// Next says what to do with a step that has run for elapsed, given its
// latest verdict: roll back at once on a regression; advance once its
// time is up and it passed; hold as inconclusive when it still lacks
// episodes past the maximum wait; otherwise wait.
func (s Step) Next(elapsed time.Duration, v Verdict) string {
	switch {
	case v.Result == VerdictRegressed:
		return ActionRollback
	case elapsed < s.Duration:
		return ActionWait
	case v.Result == VerdictPass:
		return ActionAdvance
	case elapsed >= s.Duration+s.MaxWait:
		return ActionInconclusive
	}
	return ActionWait
}
