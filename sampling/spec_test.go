package sampling

import (
	"math"
	"testing"
)

// closeRel reports |got − want| ≤ rtol·|want| (and exact equality at 0).
func closeRel(got, want, rtol float64) bool {
	return math.Abs(got-want) <= rtol*math.Abs(want)
}

// TestSelfBLEUBrevityPenaltyWithUnequalLengths pins nltk's brevity penalty
// in SelfBLEU123 (ALGORITHMS §2.2; nltk 3.8 sentence_bleu, weights ⅓ each,
// method1 smoothing ε = 0.1). The §2.4 golden values use equal lengths, so
// there BP is 1 whatever the code does. Here, per hypothesis h with c = |h|:
//
//	r   = the reference length closest to c, the shorter one on a tie
//	BP  = 1 if c > r, else exp(1 − r/c)
//	p_n = clipped n-gram matches / max(1, c−n+1), ε/den when no match
//	BLEU_h = BP · (p_1·p_2·p_3)^(1/3)
//
// Expected values are these formulas written out by hand below; they agree
// to 1e-15 with nltk 3.8 (Debian python3-nltk), run once offline:
// A 0.595667103677603, B 0.562120531141730, C 0.817779203433955. Each case
// breaks a different wrong BP: none at all or exp(1 − c/r) (A), the
// longest or the shortest reference instead of the closest (B), ties to
// the longer reference (C).
func TestSelfBLEUBrevityPenaltyWithUnequalLengths(t *testing.T) {
	e, cbrt := math.Exp, math.Cbrt
	cases := []struct {
		name string
		seqs [][]int32
		want float64
	}{
		{
			// h=[1..6] (c 6, r 4): BP 1; p = 4/6, 3/5, 2/4.
			// h=[1..4] (c 4, r 6): BP e^(1−6/4); p = 1, 1, 1.
			name: "A shorter hypothesis is penalised",
			seqs: [][]int32{{1, 2, 3, 4, 5, 6}, {1, 2, 3, 4}},
			want: (cbrt(4.0/6*3/5*2/4) + e(1-6.0/4)) / 2,
		},
		{
			// h=[1..4] (c 4; refs 5, 2 → r 5): BP e^(1−5/4); p = 1, 1, 1.
			// h=[1..5] (c 5; refs 4, 2 → r 4): BP 1; p = 4/5, 3/4, 2/3.
			// h=[1,2]  (c 2; refs 4, 5 → r 4): BP e^(1−4/2); p = 1, 1, 0.1/1
			//          (no trigram at all: method1 gives ε/max(1, 0)).
			name: "B closest reference length, not the longest or shortest",
			seqs: [][]int32{{1, 2, 3, 4}, {1, 2, 3, 4, 5}, {1, 2}},
			want: (e(1-5.0/4) + cbrt(4.0/5*3/4*2/3) + e(1-4.0/2)*cbrt(0.1)) / 3,
		},
		{
			// h=[1..4] (c 4; refs 3, 5 tie → r 3): BP 1; p = 1, 1, 1.
			// h=[1..3] (c 3; refs 4, 5 → r 4): BP e^(1−4/3); p = 1, 1, 1.
			// h=[1..5] (c 5; refs 4, 3 → r 4): BP 1; p = 4/5, 3/4, 2/3.
			name: "C equidistant references: the shorter wins",
			seqs: [][]int32{{1, 2, 3, 4}, {1, 2, 3}, {1, 2, 3, 4, 5}},
			want: (1 + e(1-4.0/3) + cbrt(4.0/5*3/4*2/3)) / 3,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := SelfBLEU123(c.seqs); !closeRel(got, c.want, 1e-12) {
				t.Errorf("SelfBLEU123(%v) = %.15f, want %.15f", c.seqs, got, c.want)
			}
		})
	}
}

// TestVASMinMaxKeepsTheEpsilon pins the +1e-8 of MMR1's min-max
// normalisation W = (v − min)/(max − min + 1e-8) (ALGORITHMS §2.2) in the
// weights VAS stores. The §2.4 golden values cannot: there max − min is
// 0.24 and the 1e-8 moves the weights by 4e-8 relative, below the 1e-6
// golden tolerance. Here the spread is of the order of 1e-8, where the
// epsilon halves the weights, and the checks are exact or at 1e-12.
//
// VPS is set directly: α = 0, β = 1 and no completions make VPS = TDS
// exactly (Observe keeps a preset TDS when it has no completions).
// Expected weights are the formula's exact rational values, worked out in
// the comments (1e-8 is within 1e-17 relative of its float64), against
// which the float64 result must agree to 1e-12; and the implementation
// must match the formula evaluated in float64 in its own order bit for bit.
func TestVASMinMaxKeepsTheEpsilon(t *testing.T) {
	cases := []struct {
		name string
		vps  []float64
		want []float64
	}{
		// 5e-9/(1e-8 + 1e-8) = 1/4 and 1e-8/2e-8 = 1/2 (without ε: 1/2, 1).
		{"spread 1e-8", []float64{0, 5e-9, 1e-8}, []float64{0, 0.25, 0.5}},
		// 2⁻²⁷/(2⁻²⁷ + 1e-8) = 1/(1 + 1e-8·2²⁷) = 1/2.34217728; the inputs
		// are exact in float64, away from 0 (without ε: 1).
		{"spread 2^-27 above 0.5", []float64{0.5, 0.5 + 0x1p-27}, []float64{0, 1 / 2.34217728}},
		// 1e-6/(1e-6 + 1e-8) = 1/1.01 (without ε: 1).
		{"spread 1e-6", []float64{0, 1e-6}, []float64{0, 1 / 1.01}},
		// A typical spread: 0.5/(1 + 1e-8) and 1/(1 + 1e-8), 1e-8 relative
		// below 0.5 and 1.
		{"spread 1", []float64{0, 0.5, 1}, []float64{0, 0.5 / (1 + 1e-8), 1 / (1 + 1e-8)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig().VAS
			cfg.Alpha, cfg.Beta, cfg.EMA, cfg.WMin = 0, 1, 0, 0
			v, err := NewVAS(1, cfg, testIDs(len(c.vps)))
			if err != nil {
				t.Fatal(err)
			}
			groups := make([]GroupOutcome, len(c.vps))
			for i, x := range c.vps {
				v.stats[i].TDS = x
				groups[i] = GroupOutcome{PromptID: v.pool.ids[i], Correct: []bool{true, false}}
			}
			if err := v.Observe(1, groups); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Next(2, 2); err != nil { // re-weights
				t.Fatal(err)
			}
			lo, hi := c.vps[0], c.vps[len(c.vps)-1] // sorted inputs
			for i, want := range c.want {
				st := v.stats[i]
				if st.VPS != c.vps[i] {
					t.Fatalf("VPS[%d] = %v, want the preset %v", i, st.VPS, c.vps[i])
				}
				if !closeRel(st.Weight, want, 1e-12) {
					t.Errorf("weight[%d] = %.17g, want %.17g (without the 1e-8: %.17g)", i, st.Weight, want, (c.vps[i]-lo)/(hi-lo))
				}
				if f := (c.vps[i] - lo) / (hi - lo + 1e-8); st.Weight != f {
					t.Errorf("weight[%d] = %.17g, float64 formula %.17g", i, st.Weight, f)
				}
			}
		})
	}
}
