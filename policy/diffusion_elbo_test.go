package policy

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// constScore is the toy model of ALGORITHMS §3.5: every masked token has
// log-prob c whatever the canvas.
func constScore(c float64) scoreFunc {
	return func(g *canvasGrid) ([]float64, error) {
		out := make([]float64, g.R*g.T)
		for j, t := range g.targets {
			if t >= 0 {
				out[j] = c
			}
		}
		return out, nil
	}
}

// seqOf returns a batch of one sequence with completion length l.
func seqOf(l int) SeqBatch {
	c := make([]int32, l)
	for j := range c {
		c[j] = int32(8 + j%3)
	}
	return SeqBatch{Prompts: [][]int32{{1, 9}}, Completions: [][]int32{c}}
}

func TestDiffusionELBOWiringMatchesGoldenToyValues(t *testing.T) {
	m, err := NewDiffusionModel(Config{Layers: 1, DModel: 8, Heads: 1, DFF: 8, Context: 272, Vocab: 11})
	if err != nil {
		t.Fatal(err)
	}
	// ALGORITHMS §3.5, toy model with c = −0.5.
	cases := []struct {
		name string
		cfg  objective.ELBOConfig
		l    int
		want float64
	}{
		{"gauss-2 at L=10", objective.ELBOConfig{Rule: objective.RuleGauss2}, 10, -4.5849364905},
		{"gauss-3 at L=10", objective.ELBOConfig{Rule: objective.RuleGauss3}, 10, -4.7068217467},
		{"simpson at L=10", objective.ELBOConfig{Rule: objective.RuleSimpson}, 10, -5},
		{"gauss-2 at L=256", objective.ELBOConfig{Rule: objective.RuleGauss2}, 256, -127.5971328218},
		{"gauss-2 at L=4 unclamped (reference)", objective.ELBOConfig{Rule: objective.RuleGauss2, MaskMin: 0}, 4, -0.9509618943},
		{"gauss-2 at L=4 clamped (NeMo, rlpipe)", objective.ELBOConfig{Rule: objective.RuleGauss2, MaskMin: 1}, 4, -2.1339745962},
		{"double_mc with four copies", objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 4}, 10, -5},
		{"one_step", objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: 0.3}, 10, -5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := m.planELBO(seqOf(c.l), c.cfg, 3, []uint64{4})
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.elbo(2, constScore(-0.5))
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got[0]-c.want) > 1e-9 {
				t.Errorf("ELBO %.10f, want %.10f", got[0], c.want)
			}
			if n := ELBOPasses(c.cfg, c.l); n != len(p.seq) {
				t.Errorf("ELBOPasses %d, plan has %d canvases", n, len(p.seq))
			}
		})
	}
}

// positionScore is a canvas-independent double whose log-prob depends on
// the scored position and token, so that a wrong mask changes the sum.
func positionScore(g *canvasGrid) ([]float64, error) {
	out := make([]float64, g.R*g.T)
	for j, t := range g.targets {
		if t >= 0 {
			out[j] = -0.01*float64(j%g.T) - 0.1*float64(t)
		}
	}
	return out, nil
}

func TestDiffusionELBOCombinesMasksLikeTheObjectivePackage(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	b := tinyDiffusionBatch
	keys := []uint64{7, 8, 9}
	for _, cfg := range []objective.ELBOConfig{
		{Rule: objective.RuleGauss3, Draws: 2, MaskMin: 1},
		{Rule: objective.RuleSimpson, MaskMin: 0},
		{Estimator: objective.EstDoubleMC, Draws: 5},
		{Estimator: objective.EstOneStep},
	} {
		t.Run(fmt.Sprintf("%s %s draws %d", cfg.Estimator, cfg.Rule, cfg.Draws), func(t *testing.T) {
			p, err := m.planELBO(b, cfg, 42, keys)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.elbo(3, positionScore)
			if err != nil {
				t.Fatal(err)
			}
			for i, comp := range b.Completions {
				plan, err := cfg.Plan(nil, len(comp), 42, keys[i])
				if err != nil {
					t.Fatal(err)
				}
				sums := make([]float64, len(plan))
				for e, ev := range plan {
					for _, j := range cfg.Mask(nil, nil, len(comp), 42, keys[i], ev) {
						pos := len(b.Prompts[i]) + j
						sums[e] += -0.01*float64(pos) - 0.1*float64(comp[j])
					}
				}
				if want := objective.CombineELBO(plan, sums); math.Abs(got[i]-want) > 1e-12 {
					t.Errorf("sequence %d: model path %.12f, CombineELBO %.12f", i, got[i], want)
				}
			}
		})
	}
}

func TestDiffusionCurrentOldAndReferenceShareMasks(t *testing.T) {
	cur := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	old := cur.clone()
	ref := cur.clone()
	for _, x := range ref.Params() {
		for j := range x.Value {
			x.Value[j] *= 1.1
		}
	}
	cfg := objective.DefaultELBOConfig()
	cfg.Draws = 2
	keys := []uint64{101, 102, 103}
	var grids []*canvasGrid
	var vals [][]float64
	for _, m := range []*DiffusionModel{cur, old, ref} {
		p, err := m.planELBO(tinyDiffusionBatch, cfg, 9, keys)
		if err != nil {
			t.Fatal(err)
		}
		grids = append(grids, p.grid(0, len(p.seq)))
		v, err := m.ELBO(tinyDiffusionBatch, cfg, 9, keys)
		if err != nil {
			t.Fatal(err)
		}
		vals = append(vals, v)
	}
	for k, g := range grids[1:] {
		if !slices.Equal(g.tokens, grids[0].tokens) || !slices.Equal(g.targets, grids[0].targets) {
			t.Errorf("model %d sees different canvases than the current model", k+1)
		}
	}
	if !slices.Equal(vals[0], vals[1]) {
		t.Errorf("old (identical weights) ELBO %v differs from current %v", vals[1], vals[0])
	}
	if slices.Equal(vals[0], vals[2]) {
		t.Errorf("reference with different weights gave the same ELBO %v", vals[2])
	}
	other, err := cur.planELBO(tinyDiffusionBatch, cfg, 9, []uint64{201, 202, 203})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(other.grid(0, len(other.seq)).tokens, grids[0].tokens) {
		t.Error("different rollout keys gave identical masks")
	}
}

func TestDiffusionELBOIsTheValueAccumulateELBOSees(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[1].cfg)
	cfg := objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 4}
	keys := []uint64{1, 2, 3}
	want, err := m.ELBO(tinyDiffusionBatch, cfg, 77, keys)
	if err != nil {
		t.Fatal(err)
	}
	tl := loadTol(t, "batch_independence")
	for _, chunk := range []int{0, 5} {
		m.chunkRows = chunk
		chunked, err := m.ELBO(tinyDiffusionBatch, cfg, 77, keys)
		if err != nil {
			t.Fatal(err)
		}
		var seen []float64
		if _, err := m.AccumulateELBO(tinyDiffusionBatch, cfg, 77, keys, func(e []float64) (float64, []float64, error) {
			seen = slices.Clone(e)
			return 0, make([]float64, len(e)), nil
		}); err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if !tl.ok(chunked[i], want[i]) || !tl.ok(seen[i], want[i]) {
				t.Errorf("chunk %d sequence %d: ELBO %v, chunked %v, AccumulateELBO saw %v", chunk, i, want[i], chunked[i], seen[i])
			}
			if want[i] >= 0 {
				t.Errorf("sequence %d: ELBO %v is not negative", i, want[i])
			}
		}
	}
}

func TestDiffusionELBOMiniBatchKeepsBatchStratifiedMasks(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[1].cfg)
	cfg := objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 2, Stratify: objective.StratifyBatch}
	keys := []uint64{1, 2, 3}
	full, err := m.ELBO(tinyDiffusionBatch, cfg, 77, keys)
	if err != nil {
		t.Fatal(err)
	}
	tl := loadTol(t, "batch_independence")
	last := SeqBatch{Prompts: tinyDiffusionBatch.Prompts[2:], Completions: tinyDiffusionBatch.Completions[2:]}
	withRow := last
	withRow.Rows, withRow.BatchSize = []int{2}, 3
	var seen []float64
	if _, err := m.AccumulateELBO(withRow, cfg, 77, keys[2:], func(e []float64) (float64, []float64, error) {
		seen = slices.Clone(e)
		return 0, make([]float64, len(e)), nil
	}); err != nil {
		t.Fatal(err)
	}
	if !tl.ok(seen[0], full[2]) {
		t.Errorf("mini-batch with its batch row: ELBO %v, full batch %v", seen[0], full[2])
	}
	// Without its row the sequence is row 0 of a batch of 1 and masks the
	// batch's first count instead: different canvases for this seed.
	alone, err := m.ELBO(last, cfg, 77, keys[2:])
	if err != nil {
		t.Fatal(err)
	}
	if alone[0] == full[2] {
		t.Errorf("mini-batch without rows reproduced the full batch's ELBO %v; the test no longer separates the two", alone[0])
	}
	bad := withRow
	bad.Rows = []int{0, 1}
	if _, err := m.ELBO(bad, cfg, 77, keys[2:]); !errors.Is(err, ErrInput) {
		t.Errorf("two rows for one sequence: err = %v, want ErrInput", err)
	}
}

func TestDiffusionELBORejectsBadInput(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	cfg := objective.DefaultELBOConfig()
	cases := []struct {
		name string
		b    SeqBatch
		keys []uint64
		cfg  objective.ELBOConfig
	}{
		{"an empty completion", SeqBatch{Prompts: [][]int32{{1}}, Completions: [][]int32{{}}}, []uint64{1}, cfg},
		{"a missing rollout key", tinyDiffusionBatch, []uint64{1}, cfg},
		{"a token outside the vocabulary", SeqBatch{Prompts: [][]int32{{1}}, Completions: [][]int32{{11}}}, []uint64{1}, cfg},
		{"a sequence longer than the context", SeqBatch{Prompts: [][]int32{{1}}, Completions: [][]int32{make([]int32, 12)}}, []uint64{1}, cfg},
		{"an unknown rule", tinyDiffusionBatch, []uint64{1, 2, 3}, objective.ELBOConfig{Rule: "gauss-9"}},
	}
	for _, c := range cases {
		t.Run("it rejects "+c.name, func(t *testing.T) {
			if _, err := m.ELBO(c.b, c.cfg, 1, c.keys); !errors.Is(err, ErrInput) {
				t.Errorf("err = %v, want ErrInput", err)
			}
		})
	}
	if ELBOPasses(objective.ELBOConfig{Rule: "bad"}, 4) != 0 || ELBOPasses(cfg, 0) != 0 {
		t.Error("ELBOPasses of an invalid plan is not 0")
	}
}

func TestRolloutKeySeparatesSamplesAndModes(t *testing.T) {
	seen := map[uint64]bool{}
	for p := range uint64(3) {
		for s := range int32(3) {
			for mode := range uint8(2) {
				k := RolloutKey(p, s, mode)
				if seen[k] {
					t.Fatalf("key collision at prompt %d sample %d mode %d", p, s, mode)
				}
				seen[k] = true
			}
		}
	}
}
