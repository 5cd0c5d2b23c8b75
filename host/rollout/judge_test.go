package rollout

import (
	"testing"
	"time"
)

// sample builds a side of n episodes: the first recovered ones recover in
// the given seconds (cycled), permanent ones end for good.
func sample(n, permanent int, seconds ...float64) Sample {
	s := Sample{Episodes: n, Permanent: permanent, Recovered: n - permanent}
	for i := 0; i < s.Recovered; i++ {
		s.RecoverySeconds = append(s.RecoverySeconds, seconds[i%len(seconds)]+float64(i%7)/10)
	}
	return s
}

// TestJudgeSteps: the judgement and what a step does with it.
func TestJudgeSteps(t *testing.T) {
	crit := Criteria{MinEpisodes: 20, Confidence: 0.95, Tolerance: Tolerance{RecoveryTime: 0.2, RecoveredShare: 0.05, PermanentEnds: 0.05}}
	step := Step{Duration: time.Hour, MaxWait: 2 * time.Hour}
	stable := sample(60, 1, 2, 3, 4, 5)
	tests := []struct {
		name    string
		canary  Sample
		stable  Sample
		elapsed time.Duration
		result  string
		measure string
		action  string
	}{
		{"slower canary rolled back at once", sample(30, 0, 8, 9, 12), stable, time.Minute, VerdictRegressed, "recovery_time", ActionRollback},
		{"canary that ends sessions rolled back", sample(30, 12, 2, 3, 4, 5), stable, 2 * time.Hour, VerdictRegressed, "recovered_share", ActionRollback},
		{"better canary advances", sample(30, 0, 1, 2), stable, time.Hour, VerdictPass, "", ActionAdvance},
		{"equal canary advances", sample(30, 0, 2, 3, 4, 5), stable, time.Hour, VerdictPass, "", ActionAdvance},
		{"slightly slower within tolerance advances", sample(30, 0, 2.2, 3.2, 4.2, 5.2), stable, time.Hour, VerdictPass, "", ActionAdvance},
		{"passing canary waits out its time", sample(30, 0, 2, 3, 4, 5), stable, 59 * time.Minute, VerdictPass, "", ActionWait},
		{"too few canary episodes wait", sample(5, 0, 2), stable, 90 * time.Minute, VerdictWait, "", ActionWait},
		{"too few stable episodes wait", sample(30, 0, 2), sample(3, 0, 2), 90 * time.Minute, VerdictWait, "", ActionWait},
		{"too few past the maximum wait: inconclusive", sample(5, 0, 2), stable, 3 * time.Hour, VerdictWait, "", ActionInconclusive},
		{"no data never passes", Sample{}, Sample{}, 100 * time.Hour, VerdictWait, "", ActionInconclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Judge(crit, tt.canary, tt.stable)
			if v.Result != tt.result || v.Measure != tt.measure {
				t.Fatalf("Judge = %s (%s), want %s (%s); %+v", v.Result, v.Measure, tt.result, tt.measure, v)
			}
			if got := step.Next(tt.elapsed, v); got != tt.action {
				t.Fatalf("Next = %s, want %s", got, tt.action)
			}
		})
	}
}
