package learn

import (
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// GDPO scores a rollout over the canvas the model denoised: the answer
// refilled with <eos>, and the length-normalised ratio uses that length.
func TestGDPOInputsFillTheCanvas(t *testing.T) {
	g := &gdpo{canvas: 6}
	rows := []data.TrainRow{
		{Scored: data.Scored{Rollout: data.Rollout{PromptTokens: []int32{1, 2}, CompletionTokens: []int32{40, tokenizer.EOS}}}, Advantage: 0.5, Keep: true},
		{Scored: data.Scored{Rollout: data.Rollout{PromptTokens: []int32{1, 2}, CompletionTokens: []int32{40, 41, 42, 43, 44, 45}}}, Advantage: -0.5, Keep: true},
	}
	batch, _, lens, adv := g.inputs(rows, []int{0, 1})
	want := [][]int32{{40, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS}, {40, 41, 42, 43, 44, 45}}
	for i := range want {
		if !slices.Equal(batch.Completions[i], want[i]) || lens[i] != 6 {
			t.Fatalf("row %d: completion %v (len %d), want %v (len 6)", i, batch.Completions[i], lens[i], want[i])
		}
	}
	if !slices.Equal(adv, []float64{0.5, -0.5}) {
		t.Fatalf("advantages %v", adv)
	}
	if len(rows[0].CompletionTokens) != 2 {
		t.Fatal("the rollout itself was modified")
	}
}

// gdpoMaskCanvas is the fixture's canvas: short, so the test is cheap, but
// long enough that two different masks of one rollout score different
// tokens.
const gdpoMaskCanvas = 12

// gdpoMaskFixture returns a GDPO learner on a tiny random diffusion policy
// whose learning rate is 0 at step 0 (linear warmup from 0), and one step's
// rows: 3 prompts × 2 samples with mixed advantages and completions of
// different lengths (so the <eos> fill differs per row). With LR 0 the
// policy never changes during the update, so however many epochs and
// mini-batches run, the current ELBO of every rollout must equal its
// behaviour (old) ELBO up to float32 rounding — which holds only if both
// are evaluated on the same masks (ALGORITHMS §3.2, pitfall §3.6.2).
func gdpoMaskFixture(t *testing.T, algo Config) (*gdpo, []data.TrainRow) {
	t.Helper()
	cfg := policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: tokenizer.Size, InitSeed: 5}
	m, err := policy.NewDiffusionModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A random init is nearly uniform over the vocabulary, so its ELBO
	// hardly depends on which positions are masked; sharper weights make
	// the mask matter (see the fixture check in the test).
	for _, p := range m.Params() {
		for j := range p.Value {
			p.Value[j] *= 4
		}
	}
	opt, err := optim.NewAdamW(optim.AdamWConfig{LR: 1e-2})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{WarmupSteps: 100}, 1e-2)
	if err != nil {
		t.Fatal(err)
	}
	env := Env{Policy: m, Opt: opt, Sched: sched, Algo: algo, Temperature: 1, Seed: 42, Canvas: gdpoMaskCanvas}
	if algo.GDPO.Beta > 0 {
		env.Ref = m.Clone()
	}
	l, err := NewGDPO(env)
	if err != nil {
		t.Fatal(err)
	}
	return l.(*gdpo), trainrows.Diffusion()
}

func snapshotParams(m policy.Trainable) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		out = append(out, slices.Clone(p.Value))
	}
	return out
}

// TestGDPOOldCurrentAndReferenceELBOsShareMasks runs the GDPO update on
// an unchanged policy and requires every sequence ratio to be 1 (ratio
// max = mean = 1 and approx KL mean(−log r) = 0; together these pin every
// rollout's log-ratio to 0, since max r = 1 leaves no r above 1 to offset
// one below it in the mean) and, with β > 0 and the reference a copy of the
// policy, the KL to be 0. A change of the mask seed or rollout key
// derivation for the old, the current or the reference ELBO alone — or a
// mini-batch that loses its rows' keys or batch positions — makes the
// masks differ and moves the log-ratio by 0.1–0.8 on this fixture (checked
// below), against the tolerance of 1e-5.
//
// The tolerance is not 0 because the old and reference ELBOs come from the
// forward-only path (DiffusionModel.ELBO) and the current one from the
// float32 training graph (AccumulateELBO): on identical canvases they agree
// to float32 rounding (measured |log r| ≤ 1e-7 here, pure-Go BLAS), not
// bit for bit. 1e-5 also covers OpenBLAS's kernel-dependent last bits
// (policy/testdata/tolerances.json, batch_independence).
func TestGDPOOldCurrentAndReferenceELBOsShareMasks(t *testing.T) {
	const tol = 1e-5
	cases := []struct {
		name           string
		elbo           objective.ELBOConfig
		beta           float64
		epochs, minibs int
	}{
		{name: "default sdmc gauss-2 cyclic", elbo: objective.DefaultELBOConfig(), epochs: 1, minibs: 1},
		{name: "sdmc independent masks 2 draws, 2 epochs", elbo: objective.ELBOConfig{Rule: objective.RuleGauss3, Draws: 2, MaskMin: 1,
			Coupling: objective.CouplingIndependent}, epochs: 2, minibs: 1},
		// Mini-batch 2 of 2 is rows 3..5: its current ELBOs need the full
		// batch's keys and batch rows (StratifyBatch spreads counts over rows).
		{name: "double_mc batch-stratified, 2 mini-batches", elbo: objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 2,
			Stratify: objective.StratifyBatch}, epochs: 2, minibs: 2},
		{name: "double_mc rollout-stratified, 2 mini-batches", elbo: objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 3,
			Coupling: objective.CouplingCyclic}, epochs: 1, minibs: 2},
		// one_step masks the whole completion; only the prompt mask is random.
		{name: "one_step prompt masking", elbo: objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: 0.5}, epochs: 1, minibs: 1},
		{name: "reference shares masks (beta > 0)", elbo: objective.DefaultELBOConfig(), beta: 0.04, epochs: 1, minibs: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			algo := DefaultConfig()
			algo.Name = NameGDPO
			algo.Epochs, algo.MiniBatches = c.epochs, c.minibs
			algo.GDPO = objective.GDPOConfig{Beta: c.beta, ELBO: c.elbo}
			g, rows := gdpoMaskFixture(t, algo)

			// Fixture check: on this policy, evaluating the batch with other
			// masks (another seed) moves some rollout's length-normalised
			// log-ratio by far more than tol, so the assertions below do
			// detect unshared masks.
			kept := []int{0, 1, 2, 3, 4, 5}
			batch, keys, lens, _ := g.inputs(rows, kept)
			a, err := g.elbo.ELBO(batch, c.elbo, 1, keys)
			if err != nil {
				t.Fatal(err)
			}
			b, err := g.elbo.ELBO(batch, c.elbo, 2, keys)
			if err != nil {
				t.Fatal(err)
			}
			sep := 0.0
			for i := range a {
				sep = max(sep, math.Abs(a[i]-b[i])/float64(lens[i]))
			}
			if sep < 1000*tol {
				t.Fatalf("other masks move the log-ratio by at most %g: the fixture cannot detect unshared masks", sep)
			}

			before := snapshotParams(g.pol)
			st, err := g.update(rows, 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.LR != 0 || !slices.EqualFunc(before, snapshotParams(g.pol), slices.Equal[[]float32]) {
				t.Fatalf("the policy changed during the update (LR %v): the fixture needs it fixed", st.LR)
			}
			m := st.Metrics
			if math.Abs(m.RatioMax-1) > tol || math.Abs(m.RatioMean-1) > tol || math.Abs(m.ApproxKL) > tol {
				t.Errorf("unchanged policy: ratio max %.17g, mean %.17g, approx KL %.3g; want 1, 1, 0 (old and current ELBOs on different masks?)",
					m.RatioMax, m.RatioMean, m.ApproxKL)
			}
			if c.beta > 0 && math.Abs(m.KLMean) > tol {
				t.Errorf("reference = policy: KL mean %.3g, want 0 (reference ELBO on different masks?)", m.KLMean)
			}
		})
	}
}
