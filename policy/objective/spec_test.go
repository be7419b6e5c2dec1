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

// TestSeqMeanAggregationExcludesAllZeroMaskRows checks that N_seq in the
// seq-mean modes counts only rows with Σ_t m > 0 (verl agg_loss's
// seq_mask; ALGORITHMS §1.5). The batch is the §1.9 aggregation example
// plus a third row whose mask is all zero but whose losses are not, so
// the golden values must not move: seq-mean-token-sum (6 + 4)/2 = 5 and
// seq-mean-token-mean (6/3 + 4/1)/2 = 3 (up to verl's 1e-8 guard, kept
// in the expected values so the comparison can be tight), where counting
// the third row would give 10/3 and 2. token-mean (10/4 = 2.5) is a control: it never counted
// rows. Checked on both paths a learner uses: AggScales (and so the
// entropy term) and PolicyLoss (value and gradient).
func TestSeqMeanAggregationExcludesAllZeroMaskRows(t *testing.T) {
	mask := [][]float64{{1, 1, 1, 0}, {1, 0, 0, 0}, {0, 0, 0, 0}}
	loss := [][]float64{{1, 2, 3, 0}, {4, 0, 0, 0}, {5, 6, 7, 8}}
	const eps = seqMeanTokenMeanEps // verl's guard in Σ_t m + 1e-8
	cases := []struct {
		mode AggMode
		want float64
		// rowScale is s_i of the two non-empty rows, the loss's
		// derivative per unit of masked per-token loss: 1/N_seq,
		// 1/((Σ_t m + 1e-8)·N_seq) or 1/N_tok.
		rowScale [2]float64
	}{
		{AggSeqMeanTokenSum, (6 + 4) / 2.0, [2]float64{1.0 / 2, 1.0 / 2}},
		{AggSeqMeanTokenMean, (6/(3+eps) + 4/(1+eps)) / 2, [2]float64{1 / ((3 + eps) * 2), 1 / ((1 + eps) * 2)}},
		{AggTokenMean, 10 / 4.0, [2]float64{1.0 / 4, 1.0 / 4}},
	}
	for _, c := range cases {
		t.Run(string(c.mode)+" AggScales", func(t *testing.T) {
			s := AggScales(nil, mask, c.mode, AggParams{})
			var got float64
			for i := range loss {
				for j := range loss[i] {
					got += mask[i][j] * s[i] * loss[i][j]
				}
			}
			if !near(got, c.want, 1e-12, 1e-12) {
				t.Errorf("agg = %.15g, want %.15g (scales %v)", got, c.want, s)
			}
		})
		t.Run(string(c.mode)+" PolicyLoss", func(t *testing.T) {
			// ρ = 1 everywhere, so each masked token's loss is −A_i exactly
			// (clipping and the dual clip c = 3 are inactive): A = −2 on
			// row 0 and −4 on row 1 reproduce the row sums 6 and 4 above.
			// Row 2 gets a large advantage that must not count at all.
			in := &LossInput{
				Logp:    [][]float64{{-1, -1, -1, -1}, {-2, -2, -2, -2}, {-3, -3, -3, -3}},
				OldLogp: [][]float64{{-1, -1, -1, -1}, {-2, -2, -2, -2}, {-3, -3, -3, -3}},
				Mask:    mask,
				Adv:     []float64{-2, -4, 100},
			}
			res, err := PolicyLoss(nil, in, LossConfig{ClipLow: new(0.2), ClipHigh: new(0.28), DualClip: 3, Agg: c.mode})
			if err != nil {
				t.Fatal(err)
			}
			if !near(res.Loss, c.want, 1e-12, 1e-12) {
				t.Errorf("loss = %.15g, want %.15g", res.Loss, c.want)
			}
			// dL/dℓ = s_i·(−A_i·ρ) on masked tokens, 0 elsewhere.
			for i, a := range []float64{-2, -4} {
				want := c.rowScale[i] * -a
				if g := res.DLogp[i][0]; !near(g, want, 1e-12, 1e-12) {
					t.Errorf("dLoss/dlogp[%d][0] = %.15g, want %.15g", i, g, want)
				}
			}
			for j, g := range res.DLogp[2] {
				if g != 0 {
					t.Errorf("dLoss/dlogp[2][%d] = %v on an all-zero-mask row", j, g)
				}
			}
		})
	}
}
