package learn

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// diffuGRPOFixture is the diffu_grpo learner (its preset) on a tiny
// diffusion policy with a reference copy, and one step's rows: two groups
// of two rollouts ending with <eos> before the 8-token canvas.
func diffuGRPOFixture(t *testing.T) (*gdpo, []data.TrainRow) {
	t.Helper()
	algo := DefaultConfig()
	algo.Name = NameDiffuGRPO
	if err := algo.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	m, err := policy.NewDiffusionModel(policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 5})
	if err != nil {
		t.Fatal(err)
	}
	env := testEnv(t, m, algo, 1e-5)
	env.Canvas, env.Seed = 8, 1
	if !NeedsReference(algo) {
		t.Fatal("NeedsReference is false for diffu_grpo, whose beta 0.04 reads the reference")
	}
	l, err := New(env)
	if err != nil {
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
	return l.(*gdpo), rows
}

// On a step's first update the current, behaviour and reference policies
// have the same weights, so with the same mask seed (prompt masks
// included) every ratio is 1 and every KL 0; the loss counts only the
// rollouts' own tokens (through <eos>), not the canvas's <eos> fill.
func TestGDPOTokenRatioSharesTheMaskSeedAndMasksTheCanvasFill(t *testing.T) {
	g, rows := diffuGRPOFixture(t)
	before := append([]float32(nil), g.pol.Params()[0].Value...)
	st, err := g.update(rows, 5)
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
	after := g.pol.Params()[0].Value
	changed := false
	for j := range before {
		changed = changed || before[j] != after[j]
	}
	if !changed {
		t.Error("the update did not change the weights")
	}
}
