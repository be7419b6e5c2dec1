package pipeline

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// The diffu_grpo preset is d1's objective (ALGORITHMS §3.4): per-token
// ratios of one-step log-probs, token-mean, ε = 0.5, β = 0.04 with k3,
// prompt masking 0.15, no std; the sequence-level form stays available.
func TestPresetDiffuGRPOSelectsThePerTokenRatio(t *testing.T) {
	cfg := DefaultRunConfig()
	cfg.Policy.Kind, cfg.Algorithm.Name = policy.KindDiffusion, AlgoDiffuGRPO
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	g := cfg.Algorithm.GDPO
	if g.Ratio != objective.RatioToken || g.Beta != 0.04 || g.KL != objective.KLk3 || g.DualClip != 0 ||
		g.ClipLow == nil || *g.ClipLow != 0.5 || g.ClipHigh == nil || *g.ClipHigh != 0.5 ||
		g.ELBO.Estimator != objective.EstOneStep || g.ELBO.PromptMaskProb != 0.15 || cfg.Algorithm.Advantage.Std != objective.StdNone {
		t.Errorf("diffu_grpo preset: %+v, advantage %+v", g, cfg.Algorithm.Advantage)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Algorithm.GDPO.Ratio = objective.RatioELBODiff
	if err := cfg.Validate(); err != nil {
		t.Errorf("the sequence-level form was refused: %v", err)
	}
	cfg.Algorithm.GDPO.Ratio, cfg.Algorithm.GDPO.ELBO = objective.RatioToken, objective.DefaultELBOConfig()
	if err := cfg.Validate(); err == nil {
		t.Error("ratio token with the sdmc estimator was accepted")
	}
}

// diffuGRPOFixture is the diffu_grpo learner on a tiny diffusion policy,
// built as a run builds it, and one step's rows: two groups of two
// rollouts ending with <eos> before the 8-token canvas.
func diffuGRPOFixture(t *testing.T) (*runner, []data.TrainRow) {
	t.Helper()
	cfg := DefaultRunConfig()
	cfg.Policy.Kind, cfg.Algorithm.Name = policy.KindDiffusion, AlgoDiffuGRPO
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Diffusion.Canvas = 8
	pol, err := policyfile.New(policy.KindDiffusion, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 5})
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: cfg, pol: pol}
	if err := r.buildLearner(); err != nil {
		t.Fatal(err)
	}
	var rows []data.TrainRow
	for p := range 2 {
		for s := range 2 {
			completion := append([]int32{int32(40 + p), int32(50 + s), int32(60 + p + s)}[:2+s], tokenizer.EOS)
			rows = append(rows, data.TrainRow{Keep: true, Advantage: float32(2*s - 1), Scored: data.Scored{
				Rollout: data.Rollout{PromptID: uint64(p), SampleIdx: int32(s), PromptTokens: []int32{8, 9, int32(30 + p)}, CompletionTokens: completion}}})
		}
	}
	return r, rows
}

// On a step's first update the current, behaviour and reference policies
// have the same weights, so with the same mask seed (prompt masks
// included) every ratio is 1 and every KL 0; the loss counts only the
// rollouts' own tokens (through <eos>), not the canvas's <eos> fill.
func TestGDPOTokenRatioSharesTheMaskSeedAndMasksTheCanvasFill(t *testing.T) {
	r, rows := diffuGRPOFixture(t)
	if r.ref == nil {
		t.Fatal("diffu_grpo with beta 0.04 built no reference policy")
	}
	before := append([]float32(nil), r.pol.Model.Params()[0].Value...)
	st, err := r.updater.update(rows, 5) // past the LR warm-up
	if err != nil {
		t.Fatal(err)
	}
	m := st.Metrics
	const tol = 1e-5 // float32 forward vs training graph
	if math.Abs(m.RatioMean-1) > tol || math.Abs(m.RatioMax-1) > tol || math.Abs(m.ApproxKL) > tol || math.Abs(m.KLMean) > tol {
		t.Errorf("first update: ratio mean %v max %v, approx kl %v, kl %v; want 1, 1, 0, 0", m.RatioMean, m.RatioMax, m.ApproxKL, m.KLMean)
	}
	var tokens float64
	for _, row := range rows {
		tokens += float64(len(row.CompletionTokens))
	}
	if m.Tokens != tokens {
		t.Errorf("loss over %v tokens, want the rollouts' %v (canvas fill excluded)", m.Tokens, tokens)
	}
	if st.Algo["gdpo/passes_per_seq"] != 1 {
		t.Errorf("passes per sequence %v, want 1", st.Algo["gdpo/passes_per_seq"])
	}
	after := r.pol.Model.Params()[0].Value
	changed := false
	for j := range before {
		changed = changed || before[j] != after[j]
	}
	if !changed {
		t.Error("the update did not change the weights")
	}
}
