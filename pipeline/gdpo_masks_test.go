package pipeline

import (
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

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
func gdpoMaskFixture(t *testing.T, algo AlgorithmConfig) (*gdpoLearner, []data.TrainRow) {
	t.Helper()
	cfg := policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: tokenizer.Size, InitSeed: 5}
	pol, err := policyfile.New(policy.KindDiffusion, cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A random init is nearly uniform over the vocabulary, so its ELBO
	// hardly depends on which positions are masked; sharper weights make
	// the mask matter (see the fixture check in the test).
	for _, p := range pol.Model.Params() {
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
	l := &learner{pol: pol, opt: opt, sched: sched, algo: algo, temperature: 1, seed: 42}
	if algo.GDPO.Beta > 0 {
		l.ref = pol.Model.Clone()
	}
	var rows []data.TrainRow
	for p := 0; p < 3; p++ {
		for s := 0; s < 2; s++ {
			completion := []int32{int32(50 + 7*p + s), int32(90 + 3*s + p), int32(120 + 5*p)}
			completion = append(completion[:1+(p+s)%3], tokenizer.EOS)
			rows = append(rows, data.TrainRow{Keep: true, Advantage: float32(2*s-1) * float32(p+1) / 4,
				Scored: data.Scored{Rollout: data.Rollout{PromptID: uint64(700 + p), SampleIdx: int32(s),
					PromptTokens: []int32{8, int32(30 + p), int32(33 + 2*p), 9, int32(60 + p), 10}, CompletionTokens: completion}}})
		}
	}
	return &gdpoLearner{learner: l, cfg: algo.GDPO, canvas: gdpoMaskCanvas}, rows
}

func snapshotParams(m policy.Trainable) [][]float32 {
	var out [][]float32
	for _, p := range m.Params() {
		out = append(out, slices.Clone(p.Value))
	}
	return out
}

// TestGDPOOldCurrentAndReferenceELBOsShareMasks runs gdpoLearner.update on
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
			algo := DefaultRunConfig().Algorithm
			algo.Name = AlgoGDPO
			algo.Epochs, algo.MiniBatches = c.epochs, c.minibs
			algo.GDPO = objective.GDPOConfig{Beta: c.beta, ELBO: c.elbo}
			g, rows := gdpoMaskFixture(t, algo)
			model := g.pol.Model.(*policy.DiffusionModel)

			// Fixture check: on this policy, evaluating the batch with other
			// masks (another seed) moves some rollout's length-normalised
			// log-ratio by far more than tol, so the assertions below do
			// detect unshared masks.
			kept := []int{0, 1, 2, 3, 4, 5}
			batch, keys, lens, _ := g.inputs(rows, kept)
			a, err := model.ELBO(batch, c.elbo, 1, keys)
			if err != nil {
				t.Fatal(err)
			}
			b, err := model.ELBO(batch, c.elbo, 2, keys)
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

			before := snapshotParams(g.pol.Model)
			st, err := g.update(rows, 0)
			if err != nil {
				t.Fatal(err)
			}
			if st.LR != 0 || !slices.EqualFunc(before, snapshotParams(g.pol.Model), slices.Equal[[]float32]) {
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
