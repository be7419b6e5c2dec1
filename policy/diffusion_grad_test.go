package policy

import (
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// tinyDiffusionConfigs are the diffusion variants gradient-checked end to
// end (Vocab 11 > MaskToken 7).
var tinyDiffusionConfigs = []struct {
	name string
	cfg  Config
}{
	{"learned positions and gelu", Config{Layers: 2, DModel: 8, Heads: 2, DFF: 12, Context: 12, Vocab: 11, InitSeed: 3}},
	{"rotary positions and relu", Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 12, Vocab: 11, Positions: "rotary", Activation: "relu", InitSeed: 4}},
}

// tinyDiffusion wraps tinyModel's scaled-up weights (Causal forced off).
func tinyDiffusion(t testing.TB, cfg Config) *DiffusionModel {
	t.Helper()
	cfg.Causal = false
	return &DiffusionModel{net: tinyModel(t, cfg)}
}

var tinyDiffusionBatch = SeqBatch{
	Prompts:     [][]int32{{1, 5, 6}, {1, 9}, {1, 3, 3, 8}},
	Completions: [][]int32{{10, 2, 4, 9}, {3, 4, 10, 2, 6}, {5, 2}},
}

// float64GridGrads runs the float64 training graph of m's weights on grid g
// with objective fn and returns the analytic gradient per tensor plus a
// function evaluating the loss after perturbing weight (i, j) by delta.
func float64GridGrads(t *testing.T, m *DiffusionModel, g *canvasGrid, fn func([]float64) (float64, []float64, error)) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	w := float64Weights(&m.net.netCore)
	ng, err := buildNet(m.net.cfg, w, graphKey{B: g.R, T: g.T, invT: 1, train: true})
	if err != nil {
		t.Fatal(err)
	}
	ng.hook.fn = fn
	return float64TrainGrads(t, ng, w, g.tokens, g.targets, g.mask)
}

func TestDiffusionMaskedLMGradientMatchesFiniteDifferences(t *testing.T) {
	draws := map[string]maskedLMDrawFunc{MaskingDiscrete: maskedLMDraw, MaskingContinuous: maskedLMDrawContinuous}
	for _, c := range tinyDiffusionConfigs {
		for _, masking := range []string{MaskingDiscrete, MaskingContinuous} {
			t.Run(c.name+" "+masking, func(t *testing.T) {
				m := tinyDiffusion(t, c.cfg)
				b := tinyDiffusionBatch
				width, err := m.checkBatch(b.Prompts, b.Completions)
				if err != nil {
					t.Fatal(err)
				}
				g, weight := m.maskedLMGrid(b.Prompts, b.Completions, draws[masking], 17, 0, len(b.Prompts), width)
				grads, eval := float64GridGrads(t, m, g, maskedLMObjective(g, weight, len(b.Prompts)))
				checkFiniteDifferences(t, &m.net.netCore, grads, eval, 5)
				for _, chunk := range []int{0, 2} { // whole batch, then in chunks: gradients add up
					m.chunkRows = chunk
					if _, err := m.AccumulateMaskedLMWith(b.Prompts, b.Completions, 17, masking); err != nil {
						t.Fatal(err)
					}
				}
				checkAccumulated(t, &m.net.netCore, grads, 2)
			})
		}
	}
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	if _, err := m.AccumulateMaskedLMWith(tinyDiffusionBatch.Prompts, tinyDiffusionBatch.Completions, 1, "bernoulli"); !errors.Is(err, ErrInput) {
		t.Errorf("unknown masking: err = %v, want ErrInput", err)
	}
}

// Both maskings are unbiased for the per-token NLL: with a constant
// per-token loss c, the weighted masked sum Σ_masked c/(t·L) averages c.
func TestMaskedLMWeightsAreUnbiased(t *testing.T) {
	for _, c := range []struct {
		masking string
		draw    maskedLMDrawFunc
	}{{MaskingDiscrete, maskedLMDraw}, {MaskingContinuous, maskedLMDrawContinuous}} {
		for _, l := range []int{1, 5, 32} {
			const rows, seeds = 64, 400
			var sum float64
			for seed := range uint64(seeds) {
				for row := range rows {
					tt, masked := c.draw(seed, row, rows, l)
					if tt <= 0 || tt > 1 {
						t.Fatalf("%s: t = %v", c.masking, tt)
					}
					sum += float64(len(masked)) * 2.0 / (tt * float64(l))
				}
			}
			if mean := sum / (rows * seeds); math.Abs(mean-2) > 0.05 {
				t.Errorf("%s, L=%d: mean weighted loss %.4f, want 2 (the per-token loss)", c.masking, l, mean)
			}
		}
	}
}

// gdpoLikeLoss is a nonlinear sequence objective: loss = Σ_i a_i·exp(ELBO_i/8).
func gdpoLikeLoss(elbo []float64) (float64, []float64, error) {
	var loss float64
	d := make([]float64, len(elbo))
	for i, e := range elbo {
		a := float64(i) - 0.7
		loss += a * math.Exp(e/8)
		d[i] = a * math.Exp(e/8) / 8
	}
	return loss, d, nil
}

func TestDiffusionAccumulateELBOGradientMatchesFiniteDifferences(t *testing.T) {
	keys := []uint64{11, 12, 13}
	ests := []struct {
		name string
		cfg  objective.ELBOConfig
	}{
		{"sdmc gauss-2 with two draws", objective.ELBOConfig{Rule: objective.RuleGauss2, Draws: 2, MaskMin: 1}},
		{"double_mc with three copies", objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: 3}},
		{"one_step with prompt masking", objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: 0.5}},
	}
	for _, c := range tinyDiffusionConfigs {
		for _, e := range ests {
			t.Run(c.name+" and "+e.name, func(t *testing.T) {
				m := tinyDiffusion(t, c.cfg)
				p, err := m.planELBO(tinyDiffusionBatch, e.cfg, 5, keys)
				if err != nil {
					t.Fatal(err)
				}
				g := p.grid(0, len(p.seq))
				grads, eval := float64GridGrads(t, m, g, gridObjective(p, elboValues, g, p.checked(gdpoLikeLoss)))
				checkFiniteDifferences(t, &m.net.netCore, grads, eval, 5)
				// Single-graph path, then the chunked two-phase path: both add
				// the same gradient.
				if _, err := m.AccumulateELBO(tinyDiffusionBatch, e.cfg, 5, keys, gdpoLikeLoss); err != nil {
					t.Fatal(err)
				}
				m.chunkRows = 2
				if _, err := m.AccumulateELBO(tinyDiffusionBatch, e.cfg, 5, keys, gdpoLikeLoss); err != nil {
					t.Fatal(err)
				}
				checkAccumulated(t, &m.net.netCore, grads, 2)
			})
		}
	}
}

func TestMaskedLMDrawMasksAtLeastOneTokenDeterministically(t *testing.T) {
	total, tokens := 0, 0
	for row := range 200 {
		tt, masked := maskedLMDraw(3, row, 200, 1+row%9)
		if l := 1 + row%9; len(masked) == 0 || tt != float64(len(masked))/float64(l) {
			t.Fatalf("row %d: t=%v with %d of %d masked", row, tt, len(masked), l)
		}
		t2, again := maskedLMDraw(3, row, 200, 1+row%9)
		if t2 != tt || !slices.Equal(again, masked) {
			t.Fatalf("row %d: draw is not deterministic", row)
		}
		total += len(masked)
		tokens += 1 + row%9
	}
	// E[k/l] = (l+1)/(2l): about 0.5, more on short rows.
	if f := float64(total) / float64(tokens); f < 0.4 || f > 0.7 {
		t.Errorf("masked fraction %.3f, want about 0.5", f)
	}
}

// A batch's mask counts are stratified: with as many rows as positions,
// every count 1..l occurs exactly once, whatever the seed; over seeds a
// row's count is uniform.
func TestMaskedLMCountsAreStratifiedAcrossTheBatch(t *testing.T) {
	const l = 8
	counts := make([]int, l+1)
	for seed := uint64(1); seed <= 400; seed++ {
		hit := make([]int, l+1)
		for row := range l {
			_, masked := maskedLMDraw(seed, row, l, l)
			hit[len(masked)]++
			if row == 0 {
				counts[len(masked)]++
			}
		}
		for k := 1; k <= l; k++ {
			if hit[k] != 1 {
				t.Fatalf("seed %d: %d rows mask %d tokens, want 1 (%v)", seed, hit[k], k, hit)
			}
		}
	}
	for k := 1; k <= l; k++ { // 50 expected per count
		if counts[k] < 25 || counts[k] > 80 {
			t.Errorf("row 0 masks %d tokens %d times in 400 seeds, want about 50 (%v)", k, counts[k], counts)
		}
	}
}
