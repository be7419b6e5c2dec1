package policy

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy/objective"
)

var oneStepCfg = objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: 0.5}

// tokenExpLoss is a nonlinear per-token objective: Σ_{i,k} a_{i,k}·exp(ℓ_{i,k}/4).
func tokenExpLoss(logp [][]float64) (float64, [][]float64, error) {
	var loss float64
	d := make([][]float64, len(logp))
	for i, row := range logp {
		d[i] = make([]float64, len(row))
		for k, l := range row {
			a := float64(i) - 0.7 + 0.3*float64(k)
			loss += a * math.Exp(l/4)
			d[i][k] = a * math.Exp(l/4) / 4
		}
	}
	return loss, d, nil
}

// The per-token log-probs are the one-step ELBO's terms: one row per
// sequence, one entry per completion token, summing to ELBO's estimate.
func TestOneStepLogProbsAreTheTermsOfTheOneStepELBO(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	keys := []uint64{11, 12, 13}
	logp, err := m.OneStepLogProbs(tinyDiffusionBatch, oneStepCfg, 5, keys)
	if err != nil {
		t.Fatal(err)
	}
	elbo, err := m.ELBO(tinyDiffusionBatch, oneStepCfg, 5, keys)
	if err != nil {
		t.Fatal(err)
	}
	tl := loadTol(t, "batch_independence")
	for i, row := range logp {
		if len(row) != len(tinyDiffusionBatch.Completions[i]) {
			t.Fatalf("sequence %d: %d log-probs for %d tokens", i, len(row), len(tinyDiffusionBatch.Completions[i]))
		}
		var s float64
		for _, v := range row {
			s += v
		}
		if !tl.ok(s, elbo[i]) {
			t.Errorf("sequence %d: Σ ℓ̂ = %v, one-step ELBO %v", i, s, elbo[i])
		}
	}
}

// The old and reference passes of diffu-GRPO see the current pass's
// canvases (prompt masks included) when given the same seed and keys; a
// different seed draws other prompt masks and changes the log-probs, so
// sharing the seed is what makes the ratio exact.
func TestOneStepOldAndReferenceShareTheMaskSeed(t *testing.T) {
	cur := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	keys := []uint64{11, 12, 13}
	want, err := cur.OneStepLogProbs(tinyDiffusionBatch, oneStepCfg, 5, keys)
	if err != nil {
		t.Fatal(err)
	}
	var seen [][]float64
	if _, err := cur.clone().AccumulateOneStep(tinyDiffusionBatch, oneStepCfg, 5, keys, func(l [][]float64) (float64, [][]float64, error) {
		seen = l
		return 0, l, nil
	}); err != nil {
		t.Fatal(err)
	}
	tl := loadTol(t, "batch_independence")
	for i := range want {
		for k := range want[i] {
			if !tl.ok(seen[i][k], want[i][k]) {
				t.Errorf("sequence %d token %d: training pass %v, old pass %v", i, k, seen[i][k], want[i][k])
			}
		}
	}
	other, err := cur.OneStepLogProbs(tinyDiffusionBatch, oneStepCfg, 6, keys)
	if err != nil {
		t.Fatal(err)
	}
	if slices.EqualFunc(other, want, slices.Equal) {
		t.Error("another seed gave the same log-probs; the prompt masks do not depend on the seed")
	}
}

func TestAccumulateOneStepGradientMatchesFiniteDifferences(t *testing.T) {
	keys := []uint64{11, 12, 13}
	for _, c := range tinyDiffusionConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyDiffusion(t, c.cfg)
			p, err := m.planOneStep(tinyDiffusionBatch, oneStepCfg, 5, keys)
			if err != nil {
				t.Fatal(err)
			}
			g := p.grid(0, len(p.seq))
			grads, eval := float64GridGrads(t, m, g, gridObjective(p, tokenValues, g, p.checkedTokens(tokenExpLoss)))
			checkFiniteDifferences(t, &m.net.netCore, grads, eval, 5)
			// Single-graph path, then the chunked two-phase path: both add
			// the same gradient.
			if _, err := m.AccumulateOneStep(tinyDiffusionBatch, oneStepCfg, 5, keys, tokenExpLoss); err != nil {
				t.Fatal(err)
			}
			m.chunkRows = 2
			if _, err := m.AccumulateOneStep(tinyDiffusionBatch, oneStepCfg, 5, keys, tokenExpLoss); err != nil {
				t.Fatal(err)
			}
			checkAccumulated(t, &m.net.netCore, grads, 2)
		})
	}
}

func TestOneStepRejectsOtherEstimatorsAndMisshapenGradients(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	keys := []uint64{11, 12, 13}
	if _, err := m.OneStepLogProbs(tinyDiffusionBatch, objective.DefaultELBOConfig(), 5, keys); !errors.Is(err, ErrInput) {
		t.Errorf("sdmc: err = %v, want ErrInput", err)
	}
	short := func(l [][]float64) (float64, [][]float64, error) { return 0, l[:1], nil }
	if _, err := m.AccumulateOneStep(tinyDiffusionBatch, oneStepCfg, 5, keys, short); err == nil {
		t.Error("a gradient with too few rows was accepted")
	}
}
