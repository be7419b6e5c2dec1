package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/config"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// bvpoFixture is a tiny policy and one step's rows: 3 prompts × 2 modes ×
// 3 samples with distinct rewards, so every group yields a DPO pair.
func bvpoFixture(t *testing.T) (*bvpoLearner, []data.TrainRow) {
	t.Helper()
	var rows []data.TrainRow
	for p := 0; p < 3; p++ {
		for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
			for s := 0; s < 3; s++ {
				completion := []int32{int32(10 + p + s), int32(20 + s), int32(30 + int(mode))}
				rows = append(rows, data.TrainRow{Keep: true, Scored: data.Scored{
					Rollout: data.Rollout{PromptID: uint64(100 + p), Mode: mode, SampleIdx: int32(s),
						PromptTokens: []int32{8, int32(40 + p)}, CompletionTokens: completion, Logprobs: make([]float32, len(completion))},
					Reward: float64(s) / 2}})
			}
		}
	}
	return testBVPOLearner(t, DefaultBVPOConfig()), rows
}

// testBVPOLearner is a BVPO learner with cfg on a tiny fresh policy whose
// reference is a copy of itself.
func testBVPOLearner(t *testing.T, cfg BVPOConfig) *bvpoLearner {
	t.Helper()
	pcfg := policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 3}
	pol, err := policyfile.New(policy.KindAR, pcfg)
	if err != nil {
		t.Fatal(err)
	}
	opt, _ := optim.NewAdamW(optim.AdamWConfig{LR: 1e-3})
	sched, _ := optim.NewSchedule(optim.ScheduleConfig{}, 1e-3)
	l := &learner{pol: pol, ref: pol.Model.Clone(), opt: opt, sched: sched, algo: DefaultRunConfig().Algorithm, temperature: 1, clipNorm: 0}
	return newBVPOLearner(l, cfg)
}

// tieGroups gives every sample of prompt 101 in trace mode and of prompt
// 102 in empty mode the same reward, so each mode has 3 groups but only 2
// DPO pairs and the two normalisations differ.
func tieGroups(rows []data.TrainRow) {
	for i := range rows {
		r := &rows[i]
		if (r.PromptID == 101 && r.Mode == data.ModeTrace) || (r.PromptID == 102 && r.Mode == data.ModeEmpty) {
			r.Reward = 1
		}
	}
}

// singleModeDPOGrad computes the gradient of the plain DPO loss on one
// mode's rows, independently of bvpoLearner, with b's normalisation: the
// pairs' summed loss over the mode's distinct prompts, or the pair mean.
func singleModeDPOGrad(t *testing.T, b *bvpoLearner, rows []data.TrainRow, mode uint8) []float64 {
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
	refLogp, _, err := b.ref.(*policy.Model).LogProbs(batch, 1)
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
	model := b.pol.Model.(*policy.Model)
	model.ZeroGrad()
	if _, err := model.Accumulate(batch, 1, func(logp [][]float64) (float64, [][]float64, error) {
		loss, g, _, err := objective.DPOLoss(nil, &objective.DPOInput{Logp: logp, Mask: mask, RefSeq: refSeq, Pairs: pairs, Groups: norm}, objective.DefaultDPOBeta)
		return loss, g, err
	}); err != nil {
		t.Fatal(err)
	}
	return flattenGrads(model.Params())
}

// checkMixedIsSingleMode runs BVPO's mixed backward pass at alpha (1 or 0)
// and fails unless its gradient equals, bit for bit, the DPO gradient of
// mode alone and is not all zero. It returns the pass's statistics.
func checkMixedIsSingleMode(t *testing.T, b *bvpoLearner, rows []data.TrainRow, alpha float64, mode uint8) updateStats {
	t.Helper()
	want := singleModeDPOGrad(t, b, rows, mode)
	b.pol.Model.ZeroGrad()
	st := updateStats{Algo: map[string]float64{}}
	if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty), alpha, &st); err != nil {
		t.Fatal(err)
	}
	got := flattenGrads(b.pol.Model.Params())
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
				tieGroups(rows)
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
		tieGroups(rows)
		b.pol.Model.ZeroGrad()
		st := updateStats{Algo: map[string]float64{}}
		if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), nil, 1, &st); err != nil {
			t.Fatal(err)
		}
		grad[norm] = flattenGrads(b.pol.Model.Params())
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
	b.pol.Model.ZeroGrad()
	st := updateStats{Algo: map[string]float64{}}
	if _, err := b.mixedBackward(rows, modeRows(rows, data.ModeTrace), modeRows(rows, data.ModeEmpty), 0.5, &st); err != nil {
		t.Fatal(err)
	}
	got := flattenGrads(b.pol.Model.Params())
	for i := range got {
		want := 0.5*gt[i] + 0.5*ge[i]
		if math.Abs(got[i]-want) > 1e-6+1e-4*math.Abs(want) {
			t.Fatalf("grad[%d] = %g, want %g", i, got[i], want)
		}
	}
}

// A fixed-α BVPO run evaluates and logs both modes. Alpha auto in a run is
// covered by TestBVPOAutoAlphaRunWithFewPromptsCompletes and
// TestBVPOAutoAlphaResumeIsBitIdentical (where α must move); how α moves,
// by TestBVPOAutoAlphaFollowsTheGradientVariances.
func TestBVPORunLogsBothModes(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = AlgoBVPO
	cfg.Algorithm.BVPO.Alpha = config.Fixed(0.5)
	cfg.Train.PromptsPerStep = 4
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Before) != 2 || len(res.After) != 2 || res.After[1].Mode != "empty" {
		t.Fatalf("evaluations = %+v, want trace and empty", res.After)
	}
	for _, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if a, ok := m.Algo["bvpo/alpha"]; !ok || a != 0.5 {
			t.Fatalf("bvpo/alpha = %v (present %v), want 0.5", a, ok)
		}
	}
}

func TestDiffusionRunsWithGDPOAndDiffuGRPO(t *testing.T) {
	for _, algo := range []string{AlgoGDPO, AlgoDiffuGRPO} {
		t.Run(algo, func(t *testing.T) {
			cfg := smallRunConfig()
			cfg.Policy.Kind = policy.KindDiffusion
			cfg.Algorithm.Name = algo
			if err := cfg.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			cfg.SFT.Steps = 20 // the diffusion preset trains 4000 steps
			cfg.Policy.Diffusion.Canvas = 16
			cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
			cfg.Train.Steps = 2
			out := t.TempDir()
			res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.After) != 1 || res.After[0].N != cfg.Eval.N {
				t.Fatalf("after = %+v", res.After)
			}
			lines := readLines(t, filepath.Join(out, metricsFile))
			var m struct {
				Algo      map[string]float64 `json:"algo"`
				TrainRows int                `json:"train_rows"`
			}
			if err := json.Unmarshal(lines[len(lines)-1], &m); err != nil {
				t.Fatal(err)
			}
			if m.TrainRows == 0 || m.Algo["gdpo/passes_per_seq"] < 1 {
				t.Fatalf("last step metrics = %+v", m)
			}
			for _, dir := range []string{out, filepath.Join(out, "sft")} {
				pol, err := policyfile.Load(dir)
				if err != nil || pol.Kind() != policy.KindDiffusion {
					t.Fatalf("%s: checkpoint kind = %v, %v", dir, pol, err)
				}
				// eval and bench elbo generate on the canvas the policy was trained on.
				if pol.Diffusion == nil || *pol.Diffusion != cfg.Policy.Diffusion {
					t.Errorf("%s: saved diffusion settings %+v, want %+v", dir, pol.Diffusion, cfg.Policy.Diffusion)
				}
				// eval defaults to the run's held-out task and difficulty.
				want := policyfile.TrainedOn{Train: cfg.Data.Train, Difficulty: cfg.Data.Difficulty}
				if pol.TrainedOn == nil || *pol.TrainedOn != want {
					t.Errorf("%s: trained on %+v, want %+v", dir, pol.TrainedOn, want)
				}
				o, err := ResolveEvalDefaults(EvalOptions{Checkpoint: dir})
				if err != nil || o.Dataset != "arithmetic:test" || o.Difficulty != cfg.Data.Difficulty {
					t.Errorf("%s: eval defaults %q difficulty %d (%v)", dir, o.Dataset, o.Difficulty, err)
				}
			}
		})
	}
}

func TestAlgorithmMustSuitPolicyKind(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = AlgoGDPO
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err == nil {
		t.Fatal("gdpo on a causal policy was accepted")
	}
	cfg = smallRunConfig()
	cfg.Policy.Kind = policy.KindDiffusion
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err == nil {
		t.Fatal("grpo on a diffusion policy was accepted")
	}
}

// Both masked-diffusion SFT objectives train and are chosen by
// sft.diffusion_masking; an unknown one is refused naming the key.
func TestDiffusionSFTMaskings(t *testing.T) {
	var finals []float64
	for _, masking := range []string{policy.MaskingDiscrete, policy.MaskingContinuous} {
		cfg := smallRunConfig()
		cfg.Policy.Kind = policy.KindDiffusion
		if err := cfg.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		cfg.SFT.Steps, cfg.SFT.DiffusionMasking = 20, masking
		cfg.Policy.Diffusion.Canvas = 16
		cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
		dir := t.TempDir()
		var log strings.Builder
		if _, err := RunSFT(context.Background(), cfg, RunOptions{OutDir: dir, Stderr: &log}); err != nil {
			t.Fatalf("%s: %v", masking, err)
		}
		var final float64
		if _, err := fmt.Sscanf(log.String()[strings.LastIndex(log.String(), "final loss"):], "final loss %g", &final); err != nil || !(final > 0) || math.IsInf(final, 0) {
			t.Fatalf("%s: final loss %v (%v) in\n%s", masking, final, err, log.String())
		}
		finals = append(finals, final)
	}
	if finals[0] == finals[1] {
		t.Errorf("discrete and continuous masking gave the same final loss %v", finals[0])
	}
	cfg := smallRunConfig()
	cfg.SFT.DiffusionMasking = "bernoulli"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "sft.diffusion_masking") {
		t.Errorf("unknown masking: err = %v", err)
	}
}
