package rollout

import (
	"slices"

	"github.com/wahost/wahost/storage"
)

// PolicyOutcome summarises the episodes one policy decided.
type PolicyOutcome struct {
	// Policy is the policy digest (module and settings), SHA256 the
	// module's.
	Policy string `json:"policy"`
	SHA256 string `json:"sha256"`
	// Arm is the rollout arm the episodes ran on ("" outside rollouts).
	Arm      string `json:"arm,omitempty"`
	Episodes int    `json:"episodes"`
	// Open episodes have not ended yet; Mixed ones, decided by two
	// policies, are counted here and left out of everything else.
	Open           int     `json:"open"`
	Mixed          int     `json:"mixed"`
	Recovered      int     `json:"recovered"`
	RecoveredShare float64 `json:"recovered_share"`
	Cut            int     `json:"cut"`
	P50Seconds     float64 `json:"recovery_p50_seconds"`
	P90Seconds     float64 `json:"recovery_p90_seconds"`
	P99Seconds     float64 `json:"recovery_p99_seconds"`
	Attempts       int     `json:"attempts"`
	NeededQR       int     `json:"needed_qr"`
	// PermanentEnds counts the episodes that ended for good, by the rule
	// that ended them.
	PermanentEnds map[string]int `json:"permanent_ends"`
	// Loops440 counts episodes with two or more 440 drops (a fight with
	// another client).
	Loops440  int `json:"loops_440"`
	Fallbacks int `json:"fallback_decisions"`
}

// Summarise groups episodes by policy and arm.
func Summarise(eps []storage.Episode) []PolicyOutcome {
	type key struct{ policy, arm string }
	byKey := map[key]*PolicyOutcome{}
	times := map[key][]float64{}
	var order []key
	for _, e := range eps {
		k := key{e.Policy, e.Arm}
		o := byKey[k]
		if o == nil {
			o = &PolicyOutcome{Policy: e.Policy, SHA256: e.PolicySHA256, Arm: e.Arm, PermanentEnds: map[string]int{}}
			byKey[k] = o
			order = append(order, k)
		}
		o.Episodes++
		switch {
		case e.Mixed:
			o.Mixed++
			continue
		case e.Open():
			o.Open++
			continue
		}
		o.Attempts += e.Attempts
		o.Fallbacks += e.Fallbacks
		if e.NeededQR {
			o.NeededQR++
		}
		if e.Loops440 >= 2 {
			o.Loops440++
		}
		switch e.Outcome {
		case storage.EpisodeRecovered:
			o.Recovered++
			times[k] = append(times[k], e.EndedAt.Sub(e.StartedAt).Seconds())
		case storage.EpisodeEnded:
			o.PermanentEnds[e.EndRule]++
		case storage.EpisodeCut:
			o.Cut++
		}
	}
	out := make([]PolicyOutcome, 0, len(order))
	for _, k := range order {
		o := byKey[k]
		if done := o.Episodes - o.Open - o.Mixed; done > 0 {
			o.RecoveredShare = float64(o.Recovered) / float64(done)
		}
		t := slices.Sorted(slices.Values(times[k]))
		o.P50Seconds, o.P90Seconds, o.P99Seconds = Quantile(t, 0.5), Quantile(t, 0.9), Quantile(t, 0.99)
		out = append(out, *o)
	}
	return out
}
