package rollout

import (
	"math"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestMannWhitneyKnownValues checks U against R's wilcox.test examples and
// the approximation's p-value against the formula worked by hand.
func TestMannWhitneyKnownValues(t *testing.T) {
	tests := []struct {
		name    string
		x, y    []float64
		u, z, p float64
	}{
		{
			// R's ?wilcox.test: wilcox.test(x, y, alternative = "g")
			// with ties: W = 58, p-value = 0.06646.
			name: "R depression example",
			x:    []float64{1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30},
			y:    []float64{0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29},
			u:    58, z: 1.5027, p: 0.06646,
		},
		{
			name: "disjoint", x: []float64{4, 5, 6}, y: []float64{1, 2, 3},
			u: 9, z: (9 - 4.5 - 0.5) / math.Sqrt(3*3*7/12.0), p: 0.0405,
		},
		{
			// Ranks with ties: 1 | 2.5 2.5 | 4 | 5.5 5.5; x = {2, 3, 5}
			// has ranks 2.5+4+5.5 = 12, U = 6; σ² = 9/12·(7 − 12/30).
			name: "ties", x: []float64{2, 3, 5}, y: []float64{1, 2, 5},
			u: 6, z: (6 - 4.5 - 0.5) / math.Sqrt(9.0/12*(7-12.0/30)), p: 0.3265,
		},
		{name: "reversed", x: []float64{1, 2, 3}, y: []float64{4, 5, 6}, u: 0, z: -2.1822, p: 0.98545},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MannWhitneyGreater(tt.x, tt.y)
			if got.U != tt.u || !near(got.Z, tt.z, 1e-3) || !near(got.P, tt.p, 1e-3) {
				t.Fatalf("MannWhitneyGreater = %+v, want U=%v Z=%.4f P=%.4f", got, tt.u, tt.z, tt.p)
			}
		})
	}
	if got := MannWhitneyGreater(nil, []float64{1}); got.P != 1 {
		t.Fatalf("empty side: %+v, want P=1", got)
	}
	if got := MannWhitneyGreater([]float64{2, 2}, []float64{2}); got.P != 1 {
		t.Fatalf("no spread: %+v, want P=1", got)
	}
}

func TestProportionGreater(t *testing.T) {
	tests := []struct {
		name           string
		k1, n1, k2, n2 int
		margin         float64
		z, p           float64
	}{
		// Pooled share 0.5: (0.6−0.4)/sqrt(.25·(1/100+1/100)) = 2.8284.
		{"clear excess", 60, 100, 40, 100, 0, 2.8284, 0.002339},
		// The margin absorbs most of it: (0.2−0.15)/0.070711.
		{"within margin", 60, 100, 40, 100, 0.15, 0.7071, 0.23975},
		// Pooled share 0.2: −0.2/sqrt(.16·0.02).
		{"lower", 10, 100, 30, 100, 0, -3.5355, 0.99980},
		// Three ends of 15 against none of 15: the pooled error (share
		// 0.1) keeps it short of 95 %: (0.2−0.02)/sqrt(.09·2/15).
		{"a few against none", 3, 15, 0, 15, 0.02, 1.6432, 0.05017},
		// All ends on one side, none on the other: pooled error,
		// p = 10/40, σ = sqrt(.1875·(1/10+1/30)).
		{"all versus none", 10, 10, 0, 30, 0.05, (1 - 0.05) / math.Sqrt(0.1875*(0.1+1.0/30)), 0},
		{"alike and certain", 5, 5, 7, 7, 0, 0, 1},
		{"empty", 0, 0, 3, 7, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ProportionGreater(tt.k1, tt.n1, tt.k2, tt.n2, tt.margin)
			if !near(got.Z, tt.z, 1e-3) || !near(got.P, tt.p, 1e-4) {
				t.Fatalf("ProportionGreater = %+v, want Z=%.4f P=%.5f", got, tt.z, tt.p)
			}
		})
	}
}

func TestQuantile(t *testing.T) {
	v := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tt := range []struct{ q, want float64 }{{0.5, 5.5}, {0.9, 9.1}, {0.99, 9.91}, {0, 1}, {1, 10}} {
		if got := Quantile(v, tt.q); !near(got, tt.want, 1e-9) {
			t.Errorf("Quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if Quantile(nil, 0.5) != 0 {
		t.Error("Quantile of nothing")
	}
}
