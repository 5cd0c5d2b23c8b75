package rollout

import (
	"math"
	"slices"
)

// MannWhitney is the result of a one-sided Mann–Whitney U test that x
// tends to be larger than y.
type MannWhitney struct {
	// U is x's statistic: the number of pairs (xi, yj) with xi > yj, ties
	// counting a half.
	U float64
	// Z is the normal approximation's score, with the tie correction and a
	// continuity correction of a half.
	Z float64
	// P is the one-sided p-value: the chance of a U this large if x and y
	// came from the same distribution.
	P float64
}

// MannWhitneyGreater tests whether x tends to be larger than y, by the
// normal approximation with tie correction. With an empty side, or no
// spread at all, it returns P = 1 (no evidence).
func MannWhitneyGreater(x, y []float64) MannWhitney {
	n1, n2 := float64(len(x)), float64(len(y))
	if len(x) == 0 || len(y) == 0 {
		return MannWhitney{P: 1}
	}
	type obs struct {
		v float64
		x bool
	}
	all := make([]obs, 0, len(x)+len(y))
	for _, v := range x {
		all = append(all, obs{v, true})
	}
	for _, v := range y {
		all = append(all, obs{v, false})
	}
	slices.SortFunc(all, func(a, b obs) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	var rx, ties float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2 // mean of ranks i+1 … j
		for k := i; k < j; k++ {
			if all[k].x {
				rx += rank
			}
		}
		t := float64(j - i)
		ties += t*t*t - t
		i = j
	}
	n := n1 + n2
	u := rx - n1*(n1+1)/2
	mean := n1 * n2 / 2
	variance := n1 * n2 / 12 * ((n + 1) - ties/(n*(n-1)))
	if variance <= 0 {
		return MannWhitney{U: u, P: 1}
	}
	z := (u - mean - 0.5) / math.Sqrt(variance)
	return MannWhitney{U: u, Z: z, P: upperTail(z)}
}

// Proportions is the result of a one-sided test that a proportion exceeds
// another by more than a margin.
type Proportions struct {
	// Diff is p1 - p2.
	Diff float64
	Z, P float64
}

// ProportionGreater tests whether the share k1/n1 exceeds k2/n2 by more
// than margin (H0: p1 - p2 <= margin), with the pooled standard error.
// The pooled error counts both sides' spread even when one side has no
// event at all (the unpooled error then counts only the other side's,
// and a few ends on one side of a small sample would look significant).
// With an empty side it returns P = 1.
func ProportionGreater(k1, n1, k2, n2 int, margin float64) Proportions {
	if n1 == 0 || n2 == 0 {
		return Proportions{P: 1}
	}
	p1, p2 := float64(k1)/float64(n1), float64(k2)/float64(n2)
	d := p1 - p2
	p := float64(k1+k2) / float64(n1+n2)
	se := math.Sqrt(p * (1 - p) * (1/float64(n1) + 1/float64(n2)))
	if se == 0 { // both sides all 0 or all 1, alike
		if d > margin {
			return Proportions{Diff: d, Z: math.Inf(1), P: 0}
		}
		return Proportions{Diff: d, P: 1}
	}
	z := (d - margin) / se
	return Proportions{Diff: d, Z: z, P: upperTail(z)}
}

// upperTail is P(Z > z) for a standard normal Z.
func upperTail(z float64) float64 { return 0.5 * math.Erfc(z/math.Sqrt2) }

// Quantile returns the q-quantile (0..1) of sorted values by linear
// interpolation, 0 for none.
func Quantile(sorted []float64, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	pos := q * float64(len(sorted)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(sorted)-1)
	return sorted[lo] + (sorted[hi]-sorted[lo])*(pos-float64(lo))
}
