package learn

import (
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// entropyLearner is bvpoFixture's tiny policy and rows under the plain GRPO
// learner with the given entropy coefficient; with advantages set the rows
// carry group-normalised advantages, else all advantages are 0 (so the
// entropy bonus is the whole gradient). The output head is scaled up so
// that the policy starts well below the maximum entropy log V, leaving
// room for the bonus to raise it.
func entropyLearner(t *testing.T, coef float64, advantages bool) (*grpo, []data.TrainRow) {
	t.Helper()
	b, rows := bvpoFixture(t)
	l := b.grpo
	l.algo.Loss.EntropyCoef = coef
	for _, p := range l.pol.Params() {
		if p.Name == "head.w" {
			for i := range p.Value {
				p.Value[i] *= 50
			}
		}
	}
	if advantages {
		setGroupAdvantages(t, rows)
	}
	return l, rows
}

func allRows(rows []data.TrainRow) []int {
	idx := make([]int, len(rows))
	for i := range idx {
		idx[i] = i
	}
	return idx
}

// The bonus must reach the weights: after a few updates the policy's
// entropy is higher with entropy_coef > 0 and lower with < 0 than with 0,
// and the reported loss is the policy loss minus coef·token-mean(H) at the
// weights of the first update. Without the bonus wired into the model all
// three runs end at the same weights.
func TestEntropyBonusMovesThePolicyEntropy(t *testing.T) {
	const steps, coef = 5, 0.5
	for _, advantages := range []bool{false, true} {
		final := map[float64]float64{}
		for _, c := range []float64{0, coef, -coef} {
			l, rows := entropyLearner(t, c, advantages)
			h0, err := l.entropy(rows, allRows(rows))
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < steps; s++ {
				st, err := l.update(rows, s)
				if err != nil {
					t.Fatal(err)
				}
				if s > 0 {
					continue
				}
				want := st.Metrics.PGLoss - c*h0
				if st.Entropy != h0 || math.Abs(st.Loss-want) > 1e-12*math.Max(1, math.Abs(want)) {
					t.Fatalf("coef %v: loss %.15g entropy %.15g, want %.15g and %.15g", c, st.Loss, st.Entropy, want, h0)
				}
			}
			if final[c], err = l.entropy(rows, allRows(rows)); err != nil {
				t.Fatal(err)
			}
		}
		if !(final[coef] > final[0]+0.1 && final[-coef] < final[0]-0.1) {
			t.Errorf("advantages %v: entropy after %d steps: coef 0 %.6f, +%v %.6f, -%v %.6f; want the bonus to raise it and the penalty to lower it",
				advantages, steps, final[0], coef, final[coef], coef, final[-coef])
		}
	}
}

// BVPO with base grpo mixes each mode's loss including its bonus: with
// α = ½ and equal token counts per mode that is the plain learner's
// token-mean loss over both modes, so the gradients must agree; with α = 1
// it is the trace rows' loss alone.
func TestBVPOGRPOAppliesTheEntropyBonusOfEachMode(t *testing.T) {
	for _, alpha := range []float64{0.5, 1} {
		b, rows := bvpoFixture(t)
		b.cfg.Base = BVPOBaseGRPO
		b.algo.Loss.EntropyCoef = 0.1
		setGroupAdvantages(t, rows)
		trace, empty := modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty)
		idx := trace
		if alpha != 1 {
			idx = append(slices.Clone(trace), empty...)
		}
		params := b.pol.Params()
		want := learnerGrad(t, b.grpo, rows, idx)
		b.pol.ZeroGrad()
		st := Stats{Algo: map[string]float64{}}
		if _, err := b.mixedBackward(rows, trace, empty, alpha, &st); err != nil {
			t.Fatal(err)
		}
		got := flattenGrads(params)
		b.algo.Loss.EntropyCoef = 0
		withoutBonus := learnerGrad(t, b.grpo, rows, idx)
		for i, g := range got {
			if math.Abs(g-want[i]) > 1e-7+1e-5*math.Abs(want[i]) {
				t.Fatalf("alpha %v: grad[%d] = %g, learner's %g", alpha, i, g, want[i])
			}
		}
		if slices.Equal(want, withoutBonus) {
			t.Fatalf("alpha %v: the bonus does not change the gradient; the test proves nothing", alpha)
		}
	}
}

// learnerGrad is the plain learner's gradient on rows[idx].
func learnerGrad(t *testing.T, l *grpo, rows []data.TrainRow, idx []int) []float64 {
	t.Helper()
	if _, _, err := l.accumulate(rows, idx); err != nil {
		t.Fatal(err)
	}
	return flattenGrads(l.pol.Params())
}
