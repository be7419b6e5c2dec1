package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// momentsBatch is the batch of policy's tiny diffusion gradient checks.
var momentsBatch = policy.SeqBatch{
	Prompts:     [][]int32{{1, 5, 6}, {1, 9}, {1, 3, 3, 8}},
	Completions: [][]int32{{10, 2, 4, 9}, {3, 4, 10, 2, 6}, {5, 2}},
}

// noisyDiffusion returns a diffusion model of cfg with the weights policy's
// tiny test models get (drawn from (InitSeed, 99): N(0, 0.4²), gains
// around 1), so that this test measures the very model it measured inside
// policy, one whose masked log-probs vary from mask to mask.
func noisyDiffusion(t testing.TB, cfg policy.Config) *policy.DiffusionModel {
	t.Helper()
	m, err := policy.NewDiffusionModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(cfg.InitSeed, 99))
	for _, p := range m.Params() {
		gain := float32(0)
		if strings.HasSuffix(p.Name, ".g") {
			gain = 1
		}
		for j := range p.Value {
			p.Value[j] = float32(0.4*rng.NormFloat64()) + gain
		}
	}
	return m
}

// TestCountMomentsMatchMonteCarlo checks the law-of-total-variance
// computation against brute force: for each estimator, the variance and
// mean of its ELBO across many seeds agree with those derived from the
// per-count moments.
func TestCountMomentsMatchMonteCarlo(t *testing.T) {
	m := noisyDiffusion(t, policy.Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 12, Vocab: 11, Positions: "rotary", Activation: "relu", InitSeed: 4})
	b := momentsBatch
	const seeds, reps = 4000, 1000
	cm, err := measureCountMoments(m, b, reps, 11)
	if err != nil {
		t.Fatal(err)
	}
	keys := []uint64{1, 2, 3}
	for _, cfg := range []objective.ELBOConfig{
		{Estimator: objective.EstSDMC, Rule: objective.RuleGauss2, MaskMin: 1},
		{Estimator: objective.EstSDMC, Rule: objective.RuleGauss3, Draws: 2, MaskMin: 0},
		{Estimator: objective.EstDoubleMC, Draws: 2},
		{Estimator: objective.EstDoubleMC, Draws: 3},
		{Estimator: objective.EstDoubleMC, Draws: 2, Stratify: objective.StratifyBatch},
	} {
		t.Run(fmt.Sprintf("%s %s draws %d %s", cfg.Estimator, cfg.Rule, cfg.Draws, cfg.Stratify), func(t *testing.T) {
			est := make([][]float64, seeds)
			for s := range est {
				if est[s], err = m.ELBO(b, cfg, uint64(1000+s), keys); err != nil {
					t.Fatal(err)
				}
			}
			for i := range b.Prompts {
				var mean, ss float64
				for s := range est {
					mean += est[s][i] / seeds
				}
				for s := range est {
					ss += (est[s][i] - mean) * (est[s][i] - mean) / (seeds - 1)
				}
				sc, div, err := momentScenarios(cfg, len(b.Completions[i]))
				if err != nil {
					t.Fatal(err)
				}
				mu, s2 := cm.moments(i, nil)
				wantMean, wantVar := mixtureMoments(sc, mu, s2, reps)
				wantVar /= div
				t.Logf("sequence %d: Monte Carlo mean %.4f variance %.4f; count moments %.4f %.4f", i, mean, ss, wantMean, wantVar)
				if math.Abs(ss-wantVar) > 0.12*wantVar+1e-9 {
					t.Errorf("sequence %d: Monte Carlo variance %.4f, count moments %.4f", i, ss, wantVar)
				}
				if se := math.Sqrt(ss/seeds + wantVar/reps); math.Abs(mean-wantMean) > 5*se+1e-9 {
					t.Errorf("sequence %d: Monte Carlo mean %.4f, count moments %.4f (se %.4f)", i, mean, wantMean, se)
				}
			}
		})
	}
}

func TestMixtureMomentsOfKnownScenarios(t *testing.T) {
	// Two equally likely scenarios: v_1 alone, or (v_1 + v_2)/2, with
	// μ = (1, 3), σ² = (4, 8) known exactly (reps → ∞).
	one, two := scenario{prob: 0.5}, scenario{prob: 0.5}
	one.add(1, 1)
	two.add(1, 0.5)
	two.add(2, 0.5)
	mean, v := mixtureMoments([]scenario{one, two}, []float64{1, 3}, []float64{4, 8}, math.MaxInt32)
	// M = (1, 2): mean 1.5, between 0.25; within 0.5·4 + 0.5·(1 + 2) = 3.5.
	checkNear(t, "mean", mean, 1.5, 1e-6)
	checkNear(t, "variance", v, 3.75, 1e-6)
	if _, _, err := momentScenarios(objective.ELBOConfig{Estimator: objective.EstSDMC, Coupling: objective.CouplingCyclic}, 8); err == nil {
		t.Error("count moments accepted cyclic coupling")
	}
}

func checkNear(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %v, want %v", name, got, want)
	}
}
