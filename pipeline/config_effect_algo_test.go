package pipeline

// Tests that prove the algorithm keys of `rlpipe config default` change the
// update: the loss terms, kl_in_reward, and every bvpo and gdpo key. Like
// config_effect_test.go, each builds the learner the run builds from the
// configuration (learnStep, or buildLearner and its learner) at the key's
// base value and at another one and asserts an observable difference: the
// gradient norm the update reports in metrics.jsonl and the weights it
// leaves. Keys that only act once the policy has moved off its behaviour or
// reference weights (clip bounds, a KL whose gradient is 0 at the
// reference) get two epochs and a learning rate large enough to move it.

import (
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// updateEffect is what a key may change about an update: the gradient norm
// of each optimizer step (before clipping, so that a scaled loss shows
// even where Adam would hide it), GDPO's mean behaviour ELBO (the
// estimate the elbo keys configure) and the weights left at the end.
type updateEffect struct {
	GradNorms []float64
	ELBOMean  float64
	Weights   []float32
}

// The algorithm.loss keys and algorithm.kl_in_reward change what learnStep
// does with the same scored rollouts. The rows are learnerRows with every
// fourth row's behaviour log-probs moved 1.5 nats above the policy's
// instead of below, so that an A < 0 row sits at ρ = e^−1.5 ≈ 0.22, below
// 1 − ε_low, and an A > 0 row at ρ ≈ 4.5, above 1 + ε_high.
func TestLossKeysChangeTheUpdate(t *testing.T) {
	base := initConfig(t, policy.KindAR)
	base.Algorithm.Epochs = 2
	base.Train.LR, base.Train.WarmupSteps = 1e-3, 0
	rows := learnerRows(t, base)
	for i := range rows {
		if i%4 == 1 {
			for j := range rows[i].Logprobs {
				rows[i].Logprobs[j] += 3
			}
		}
	}
	observe := func(t *testing.T, cfg RunConfig) updateEffect {
		m, w := learnOn(t, cfg, rows)
		return updateEffect{GradNorms: []float64{m.GradNorm}, Weights: w}
	}
	forEachKey(t, base, []keyCase{
		// ε_low 0.9 unclips the A < 0 row at ρ ≈ 0.22 (bound 0.1, not 0.8).
		{"algorithm.loss.clip_low", func(c *RunConfig) { c.Algorithm.Loss.ClipLow = new(0.9) }},
		// ε_high 4 unclips the A > 0 row at ρ ≈ 4.5 (bound 5, not 1.28).
		{"algorithm.loss.clip_high", func(c *RunConfig) { c.Algorithm.Loss.ClipHigh = new(4.0) }},
		// k3's gradient is 0 at the reference, so the KL acts in epoch 2.
		{"algorithm.loss.beta", func(c *RunConfig) { c.Algorithm.Loss.Beta = 0.1 }},
		{"algorithm.loss.entropy_coef", func(c *RunConfig) { c.Algorithm.Loss.EntropyCoef = 0.01 }},
		{"algorithm.kl_in_reward", func(c *RunConfig) { c.Algorithm.KLInReward = 0.05 }},
	}, observe)

	// The estimator of a KL that is on: k1's gradient is β at the
	// reference, k2's and k3's are 0 there and differ once θ moves.
	withKL := base
	withKL.Algorithm.Loss.Beta = 0.1
	forEachKey(t, withKL, []keyCase{
		{"algorithm.loss.kl", func(c *RunConfig) { c.Algorithm.Loss.KL = objective.KLk1 }},
		{"algorithm.loss.kl", func(c *RunConfig) { c.Algorithm.Loss.KL = objective.KLk2 }},
	}, observe)

	// The constant normalisers of the aggregations that read them; 0 means
	// rollout.max_new_tokens (24), so an explicit 7 scales the loss.
	sumNorm := base
	sumNorm.Algorithm.Loss.Agg = objective.AggSeqMeanTokenSumNorm
	forEachKey(t, sumNorm, []keyCase{
		{"algorithm.loss.scale_factor", func(c *RunConfig) { c.Algorithm.Loss.ScaleFactor = 7 }},
	}, observe)
	drGRPO := base
	drGRPO.Algorithm.Loss.Agg = objective.AggDrGRPO
	forEachKey(t, drGRPO, []keyCase{
		{"algorithm.loss.max_len", func(c *RunConfig) { c.Algorithm.Loss.MaxLen = 7 }},
	}, observe)
}

// bvpoKeyConfig is the default configuration with algorithm bvpo, a tiny
// policy's learning rate and no warm-up, so that two updates move it.
func bvpoKeyConfig() RunConfig {
	cfg := DefaultRunConfig()
	cfg.Algorithm.Name = learn.NameBVPO
	cfg.Train.LR, cfg.Train.WarmupSteps = 1e-3, 0
	return cfg
}

// bvpoUpdates builds cfg's learner as a run does (buildLearner picks the
// BVPO learner and hands it algorithm.bvpo) on a tiny fresh policy and
// applies one update per element of steps (whose groups are runs of one
// prompt and mode, as learnStep numbers them).
func bvpoUpdates(t *testing.T, cfg RunConfig, steps ...[]data.TrainRow) updateEffect {
	t.Helper()
	r := &runner{cfg: cfg, ts: &trainState{pol: tinyARPolicy(t)}}
	if err := r.ts.buildLearner(r.cfg, nil); err != nil {
		t.Fatal(err)
	}
	var e updateEffect
	for i, rows := range steps {
		st, err := r.ts.learner.Update(learn.Batch{Step: i, Rows: slices.Clone(rows), Groups: trainrows.Groups(rows)})
		if err != nil {
			t.Fatal(err)
		}
		e.GradNorms = append(e.GradNorms, st.GradNorm)
	}
	e.Weights = weights(r.ts.pol.Model)
	return e
}

// The algorithm.bvpo keys change BVPO's updates. With a fixed α the rows
// are trainrows.BVPO, one group per mode tied (so that the mode has 3
// groups but 2 DPO pairs and the normalisations differ), whose group
// advantages base grpo trains on. Alpha auto's keys act through the estimated α
// over two steps of learntest.AlphaRows with 6 groups per mode: K = 4 micro-batches
// of 1, 2, 1, 2 groups see other gradient variances than 6 of 1, and the
// second step's α follows the first one by the smoothing and its bias
// proxy by the bias momentum (policy/learn.TestBVPOBiasMomentumDrivesTheBiasProxy).
func TestBVPOKeysChangeTheUpdate(t *testing.T) {
	rows := trainrows.BVPO()
	trainrows.TieGroups(rows)
	forEachKey(t, bvpoKeyConfig(), []keyCase{
		{"algorithm.bvpo.alpha", func(c *RunConfig) { c.Algorithm.BVPO.Alpha = learn.FixedAlpha(0.2) }},
		{"algorithm.bvpo.base", func(c *RunConfig) { c.Algorithm.BVPO.Base = learn.BVPOBaseGRPO }},
		// DPO's loss is log 2 at the reference whatever β; its gradient
		// scales with β.
		{"algorithm.bvpo.beta_dpo", func(c *RunConfig) { c.Algorithm.BVPO.BetaDPO = 0.5 }},
		{"algorithm.bvpo.normalize", func(c *RunConfig) { c.Algorithm.BVPO.Normalize = learn.BVPONormalizePairs }},
	}, func(t *testing.T, cfg RunConfig) updateEffect { return bvpoUpdates(t, cfg, rows, rows) })

	auto := bvpoKeyConfig()
	auto.Algorithm.BVPO.Alpha = learn.AutoAlpha()
	step1, step2 := trainrows.Alpha("PNPNPN", "PPPPPP"), trainrows.Alpha("PNPNPN", "ZZZZZZ")
	forEachKey(t, auto, []keyCase{
		{"algorithm.bvpo.alpha", func(c *RunConfig) { c.Algorithm.BVPO.Alpha = learn.FixedAlpha(0.5) }},
		{"algorithm.bvpo.micro_batches", func(c *RunConfig) { c.Algorithm.BVPO.MicroBatches = 6 }},
		{"algorithm.bvpo.smoothing", func(c *RunConfig) { c.Algorithm.BVPO.Smoothing = 0.5 }},
		{"algorithm.bvpo.bias_momentum", func(c *RunConfig) { c.Algorithm.BVPO.BiasMomentum = 0 }},
	}, func(t *testing.T, cfg RunConfig) updateEffect { return bvpoUpdates(t, cfg, step1, step2) })
}

// gdpoKeyCanvas is the canvas of TestGDPOKeysChangeTheUpdate: short, so
// the test is cheap, yet long enough for gauss-5's first node to mask
// floor(0.047·12) = 0 positions, which mask_min decides about.
const gdpoKeyCanvas = 12

// gdpoKeyConfig is the configuration of a diffusion policy under algo's
// preset (gdpo or diffu_grpo) on gdpoKeyCanvas, with two epochs and a
// learning rate that moves the second epoch's ratios off 1 by a few
// percent: past ε = 0.01 on both sides and, for some A < 0 rollout that
// the shared weights push up too, past a dual clip of 1.001 (the fixture
// check of TestGDPOKeysChangeTheUpdate), but within the default ε = 0.2
// below 1.
func gdpoKeyConfig(t *testing.T, algo string) RunConfig {
	t.Helper()
	cfg := DefaultRunConfig()
	cfg.Policy.Kind, cfg.Algorithm.Name = policy.KindDiffusion, algo
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Diffusion.Canvas = gdpoKeyCanvas
	cfg.Algorithm.Epochs = 2
	cfg.Train.LR, cfg.Train.WarmupSteps = 3e-4, 0
	return cfg
}

// The algorithm.gdpo keys change the updates of the GDPO and diffu-GRPO
// learners that buildLearner makes from them. The tiny random policy's
// weights are sharpened, as in policy/learn's gdpoMaskFixture, so that which positions a
// mask covers changes the ELBO by more than rounding.
func TestGDPOKeysChangeTheUpdate(t *testing.T) {
	// 3 prompts × 2 samples with advantages of both signs (their rewards;
	// the presets' advantages have no std) and completions of different
	// lengths.
	rows := trainrows.Diffusion()
	update := func(t *testing.T, cfg RunConfig) (learn.Stats, []float32) {
		t.Helper()
		pol, err := policyfile.New(policy.KindDiffusion, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: tokenizer.Size, InitSeed: 5})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pol.Model.Params() {
			for j := range p.Value {
				p.Value[j] *= 4
			}
		}
		r := &runner{cfg: cfg, ts: &trainState{pol: pol}}
		if err := r.ts.buildLearner(r.cfg, nil); err != nil {
			t.Fatal(err)
		}
		st, err := r.ts.learner.Update(learn.Batch{Rows: slices.Clone(rows), Groups: trainrows.Groups(rows)})
		if err != nil {
			t.Fatal(err)
		}
		return st, weights(pol.Model)
	}
	observe := func(t *testing.T, cfg RunConfig) updateEffect {
		st, w := update(t, cfg)
		return updateEffect{GradNorms: []float64{st.GradNorm}, ELBOMean: st.Algo["gdpo/elbo_mean"], Weights: w}
	}

	// Fixture check: with the bounds the cases below set, each clips some
	// rollout in the second epoch (whose metrics the update reports), so
	// that those cases show the bounds at work, not float32 rounding of a
	// first-epoch ratio of 1.
	tight := gdpoKeyConfig(t, learn.NameGDPO)
	tight.Algorithm.GDPO.ClipLow, tight.Algorithm.GDPO.ClipHigh, tight.Algorithm.GDPO.DualClip = new(0.01), new(0.01), 1.001
	if st, _ := update(t, tight); st.Metrics.ClipFracLow == 0 || st.Metrics.ClipFracHigh == 0 || st.Metrics.ClipFracDual == 0 {
		t.Fatalf("the tight bounds clip nothing (%+v): the clip cases prove nothing", st.Metrics)
	}

	forEachKey(t, gdpoKeyConfig(t, learn.NameGDPO), []keyCase{
		// All completions fill the canvas, so elbo_diff is length_norm's
		// log-ratio times 12.
		{"algorithm.gdpo.ratio", func(c *RunConfig) { c.Algorithm.GDPO.Ratio = objective.RatioELBODiff }},
		{"algorithm.gdpo.clip_low", func(c *RunConfig) { c.Algorithm.GDPO.ClipLow = new(0.01) }},
		{"algorithm.gdpo.clip_high", func(c *RunConfig) { c.Algorithm.GDPO.ClipHigh = new(0.01) }},
		{"algorithm.gdpo.dual_clip", func(c *RunConfig) { c.Algorithm.GDPO.DualClip = 1.001 }},
		{"algorithm.gdpo.beta", func(c *RunConfig) { c.Algorithm.GDPO.Beta = 0.04 }},
		{"algorithm.gdpo.elbo.estimator", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.Estimator = objective.EstDoubleMC }},
		{"algorithm.gdpo.elbo.rule", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.Rule = objective.RuleGauss3 }},
		{"algorithm.gdpo.elbo.draws", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.Draws = 2 }},
		{"algorithm.gdpo.elbo.coupling", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.Coupling = objective.CouplingIndependent }},
	}, observe)

	withKL := gdpoKeyConfig(t, learn.NameGDPO)
	withKL.Algorithm.GDPO.Beta = 0.04
	forEachKey(t, withKL, []keyCase{
		{"algorithm.gdpo.kl", func(c *RunConfig) { c.Algorithm.GDPO.KL = objective.KLk1 }},
		{"algorithm.gdpo.kl", func(c *RunConfig) { c.Algorithm.GDPO.KL = objective.KLk2 }},
	}, observe)

	gauss5 := gdpoKeyConfig(t, learn.NameGDPO)
	gauss5.Algorithm.GDPO.ELBO.Rule = objective.RuleGauss5
	forEachKey(t, gauss5, []keyCase{
		// mask_min 0 skips gauss-5's first node instead of masking 1 token.
		{"algorithm.gdpo.elbo.mask_min", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.MaskMin = 0 }},
	}, observe)

	doubleMC := gdpoKeyConfig(t, learn.NameGDPO)
	doubleMC.Algorithm.GDPO.ELBO.Estimator, doubleMC.Algorithm.GDPO.ELBO.Draws = objective.EstDoubleMC, 2
	forEachKey(t, doubleMC, []keyCase{
		{"algorithm.gdpo.elbo.stratify", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.Stratify = objective.StratifyBatch }},
	}, observe)

	// prompt_mask_prob is read by one_step alone: diffu_grpo's 0.15.
	forEachKey(t, gdpoKeyConfig(t, learn.NameDiffuGRPO), []keyCase{
		{"algorithm.gdpo.elbo.prompt_mask_prob", func(c *RunConfig) { c.Algorithm.GDPO.ELBO.PromptMaskProb = 0 }},
	}, observe)
}
