package learn

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// bvpoFixture is a tiny policy and one step's rows: 3 prompts × 2 modes ×
// 3 samples with distinct rewards, so every group yields a DPO pair.
func bvpoFixture(t *testing.T) (*bvpo, []data.TrainRow) {
	t.Helper()
	return testBVPOLearner(t, DefaultBVPOConfig()), trainrows.BVPO()
}

// testBVPOLearner is a BVPO learner with cfg on a tiny fresh policy whose
// reference is a copy of itself.
func testBVPOLearner(t *testing.T, cfg BVPOConfig) *bvpo {
	t.Helper()
	algo := DefaultConfig()
	algo.Name, algo.BVPO = NameBVPO, cfg
	b, err := newBVPOLearner(testEnv(t, tinyCausal(t), algo, 1e-3))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// singleModeDPOGrad computes the gradient of the plain DPO loss on one
// mode's rows, independently of the bvpo learner, with b's normalisation:
// the pairs' summed loss over the mode's distinct prompts, or the pair
// mean.
func singleModeDPOGrad(t *testing.T, b *bvpo, rows []data.TrainRow, mode uint8) []float64 {
	t.Helper()
	idx := modeRows(rows, mode)
	batch := policy.SeqBatch{}
	var rewards []float64
	var groups []int
	for _, i := range idx {
		batch.Prompts = append(batch.Prompts, rows[i].PromptTokens)
		batch.Completions = append(batch.Completions, rows[i].CompletionTokens)
		rewards = append(rewards, rows[i].Reward)
		groups = append(groups, int(rows[i].PromptID))
	}
	refLogp, _, err := b.ref.LogProbs(batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	refSeq := make([]float64, len(idx))
	mask := make([][]float64, len(idx))
	for j := range idx {
		for _, v := range refLogp[j] {
			refSeq[j] += float64(v)
		}
		mask[j] = ones(len(batch.Completions[j]))
	}
	pairs := objective.GroupPairs(nil, rewards, groups)
	var norm int // 0: the mean over pairs
	if b.cfg.Normalize == BVPONormalizeGroups {
		distinct := slices.Clone(groups)
		slices.Sort(distinct)
		norm = len(slices.Compact(distinct))
	}
	b.pol.ZeroGrad()
	if _, err := b.model.Accumulate(batch, 1, func(logp [][]float64) (float64, [][]float64, error) {
		loss, g, _, err := objective.DPOLoss(nil, &objective.DPOInput{Logp: logp, Mask: mask, RefSeq: refSeq, Pairs: pairs, Groups: norm}, objective.DefaultDPOBeta)
		return loss, g, err
	}); err != nil {
		t.Fatal(err)
	}
	return flattenGrads(b.pol.Params())
}

// checkMixedIsSingleMode runs BVPO's mixed backward pass at alpha (1 or 0)
// and fails unless its gradient equals, bit for bit, the DPO gradient of
// mode alone and is not all zero. It returns the pass's statistics.
func checkMixedIsSingleMode(t *testing.T, b *bvpo, rows []data.TrainRow, alpha float64, mode uint8) Stats {
	t.Helper()
	want := singleModeDPOGrad(t, b, rows, mode)
	b.pol.ZeroGrad()
	st := Stats{Algo: map[string]float64{}}
	if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty), alpha, &st); err != nil {
		t.Fatal(err)
	}
	got := flattenGrads(b.pol.Params())
	if !slices.Equal(got, want) {
		t.Fatal("mixed gradient differs from the single-mode gradient")
	}
	if !slices.ContainsFunc(got, func(v float64) bool { return v != 0 }) {
		t.Fatal("gradient is all zero; the test proves nothing")
	}
	return st
}

func TestBVPOEndpointsReproduceSingleModeGradientsExactly(t *testing.T) {
	cases := []struct {
		name  string
		alpha float64
		mode  uint8
	}{
		{"alpha 1 is the trace-only DPO gradient", 1, data.ModeTrace},
		{"alpha 0 is the empty-only DPO gradient", 0, data.ModeEmpty},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, rows := bvpoFixture(t)
			if b.cfg.Normalize != BVPONormalizeGroups {
				t.Fatalf("default normalize = %q, want groups", b.cfg.Normalize)
			}
			checkMixedIsSingleMode(t, b, rows, tc.alpha, tc.mode)
		})
	}
}

func TestBVPOEndpointsHoldForBothNormalizationsWithPairlessGroups(t *testing.T) {
	for _, norm := range []string{BVPONormalizeGroups, BVPONormalizePairs} {
		for _, tc := range []struct {
			alpha float64
			mode  uint8
		}{{1, data.ModeTrace}, {0, data.ModeEmpty}} {
			t.Run(fmt.Sprintf("%s alpha %v", norm, tc.alpha), func(t *testing.T) {
				b, rows := bvpoFixture(t)
				b.cfg.Normalize = norm
				trainrows.TieGroups(rows)
				st := checkMixedIsSingleMode(t, b, rows, tc.alpha, tc.mode)
				if p := st.Algo["dpo/pairs_"+modeName(tc.mode)]; p != 2 {
					t.Fatalf("pairs = %v, want 2 (one group tied)", p)
				}
			})
		}
	}
}

func TestBVPOGroupsNormalizationIsThePairMeanScaledByPairsOverGroups(t *testing.T) {
	// With 2 pairs from 3 groups, Σℓ/3 = (2/3)·(Σℓ/2): the groups gradient
	// is the pairs gradient times 2/3, which is what makes a mode that
	// rarely yields a pair weigh less instead of being renormalised up.
	grad := map[string][]float64{}
	for _, norm := range []string{BVPONormalizeGroups, BVPONormalizePairs} {
		b, rows := bvpoFixture(t)
		b.cfg.Normalize = norm
		trainrows.TieGroups(rows)
		b.pol.ZeroGrad()
		st := Stats{Algo: map[string]float64{}}
		if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), nil, 1, &st); err != nil {
			t.Fatal(err)
		}
		grad[norm] = flattenGrads(b.pol.Params())
	}
	for i, p := range grad[BVPONormalizePairs] {
		want := p * 2 / 3
		if g := grad[BVPONormalizeGroups][i]; math.Abs(g-want) > 1e-7+1e-5*math.Abs(want) {
			t.Fatalf("grad[%d] = %g, want %g", i, g, want)
		}
	}
}

func TestBVPOConfigRejectsUnknownNormalize(t *testing.T) {
	c := DefaultBVPOConfig()
	c.Normalize = "prompts"
	if err := c.Validate(); !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "normalize") {
		t.Fatalf("err = %v", err)
	}
}

func TestBVPOHalfMixIsTheAverageOfTheModes(t *testing.T) {
	b, rows := bvpoFixture(t)
	gt := singleModeDPOGrad(t, b, rows, data.ModeTrace)
	ge := singleModeDPOGrad(t, b, rows, data.ModeEmpty)
	b.pol.ZeroGrad()
	st := Stats{Algo: map[string]float64{}}
	if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty), 0.5, &st); err != nil {
		t.Fatal(err)
	}
	got := flattenGrads(b.pol.Params())
	for i := range got {
		want := 0.5*gt[i] + 0.5*ge[i]
		if math.Abs(got[i]-want) > 1e-6+1e-4*math.Abs(want) {
			t.Fatalf("grad[%d] = %g, want %g", i, got[i], want)
		}
	}
}

// ModeGradient (rlpipe bench bvpo's single-mode estimate) is the mixed
// backward pass at α = 1 on one mode.
func TestModeGradientIsTheSingleModeGradient(t *testing.T) {
	b, rows := bvpoFixture(t)
	want := singleModeDPOGrad(t, b, rows, data.ModeEmpty)
	got, err := ModeGradient(b, rows, data.ModeEmpty)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Fatal("ModeGradient differs from the mode's DPO gradient")
	}
	if _, err := ModeGradient(b.grpo, rows, data.ModeEmpty); !errors.Is(err, ErrConfig) {
		t.Fatalf("a grpo learner: err = %v, want ErrConfig", err)
	}
}

// BVPO makes one update per step, so the GRPO family's epoch and
// mini-batch keys would do nothing: they are refused.
func TestBVPORefusesEpochsAndMiniBatches(t *testing.T) {
	for _, edit := range []func(*Config){
		func(c *Config) { c.Epochs = 2 },
		func(c *Config) { c.MiniBatches = 2 },
	} {
		algo := DefaultConfig()
		algo.Name = NameBVPO
		edit(&algo)
		if err := Check(algo); !errors.Is(err, ErrConfig) {
			t.Errorf("Check(epochs %d, mini_batches %d) = %v, want ErrConfig", algo.Epochs, algo.MiniBatches, err)
		}
		if _, err := New(testEnv(t, tinyCausal(t), algo, 1e-3)); !errors.Is(err, ErrConfig) {
			t.Errorf("New(epochs %d, mini_batches %d) = %v, want ErrConfig", algo.Epochs, algo.MiniBatches, err)
		}
	}
}
