package objective

import (
	"fmt"
	"slices"
	"testing"
)

// TestStratifiedCountsRoundHalfToEven pins the rounding of LLaDA's
// stratified mask counts x = round(linspace(k₀, k₀ + (b−1)·L/b, b)),
// x = ((x − 1) mod L) + 1 (ALGORITHMS §3.2). torch.round rounds half to
// even; the §3.5 golden cases have no .5 tie, so there math.Round (half
// away from zero) gives the same counts. Every case below has a tie where
// the two differ. Expected counts: Python 3's round() (also half to even)
// on k₀ + i·L/b, then the wrap, computed offline; all linspace values
// here are exact in float32 and float64 (L/b ∈ {2.5, 1.5, 0.5}), so torch's
// float32 linspace gives the same ties. The "away" column is what
// math.Round would give, to show each case separates the two.
func TestStratifiedCountsRoundHalfToEven(t *testing.T) {
	cases := []struct {
		b, l, k0   int
		want, away []int
	}{
		// 1, 3.5, 6, 8.5: 8.5 → 8 (away: 9).
		{b: 4, l: 10, k0: 1, want: []int{1, 4, 6, 8}, away: []int{1, 4, 6, 9}},
		// 1, 2.5, 4, 5.5: 2.5 → 2 (away: 3).
		{b: 4, l: 6, k0: 1, want: []int{1, 2, 4, 6}, away: []int{1, 3, 4, 6}},
		// 8, 10.5, 13, 15.5 → 8, 10, 13, 16 → wrap 8, 10, 3, 6
		// (away: 10.5 → 11 → wraps to 1).
		{b: 4, l: 10, k0: 8, want: []int{8, 10, 3, 6}, away: []int{8, 1, 3, 6}},
		// 2, 4.5: 4.5 → 4 (away: 5).
		{b: 2, l: 5, k0: 2, want: []int{2, 4}, away: []int{2, 5}},
		// b > L, step 0.5: 1.5 → 2, 2.5 → 2, 3.5 → 4, 4.5 → 4
		// (away: 2.5 → 3, 4.5 → 5 → wraps to 1).
		{b: 8, l: 4, k0: 1, want: []int{1, 2, 2, 2, 3, 4, 4, 4}, away: []int{1, 2, 2, 3, 3, 4, 4, 1}},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("b%d L%d k0=%d", c.b, c.l, c.k0), func(t *testing.T) {
			if slices.Equal(c.want, c.away) {
				t.Fatal("case has no tie that separates half-to-even from half-away")
			}
			if got := StratifiedCounts(make([]int, c.b), c.k0, c.l); !slices.Equal(got, c.want) {
				t.Errorf("StratifiedCounts = %v, want %v (half away from zero would give %v)", got, c.want, c.away)
			}
		})
	}
}
