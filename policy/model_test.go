package policy

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// tinyConfigs are the model variants gradient-checked end to end.
var tinyConfigs = []struct {
	name string
	cfg  Config
}{
	{"causal with learned positions and gelu", Config{Layers: 2, DModel: 8, Heads: 2, DFF: 12, Context: 8, Vocab: 11, Causal: true, InitSeed: 3}},
	{"causal with rotary positions and relu", Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 8, Vocab: 11, Causal: true, Positions: "rotary", Activation: "relu", InitSeed: 4}},
	{"bidirectional with learned positions", Config{Layers: 1, DModel: 8, Heads: 1, DFF: 8, Context: 8, Vocab: 11, InitSeed: 5}},
}

// tinyModel returns a model whose weights are scaled up from the default
// init so that every gradient is well above finite-difference noise.
func tinyModel(t testing.TB, cfg Config) *Model {
	t.Helper()
	m, err := NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scaleUpWeights(&m.netCore, cfg.InitSeed, func(name string) bool { return strings.HasSuffix(name, ".g") })
	return m
}

var tinyBatch = SeqBatch{
	Prompts:     [][]int32{{1, 5, 6}, {1, 9}},
	Completions: [][]int32{{7, 2}, {3, 4, 10, 2}},
}

// fixedObjective is loss = Σ c⊙logp for constant c drawn from seed.
func fixedObjective(seed uint64) LossGradFunc {
	return func(lp [][]float64) (float64, [][]float64, error) {
		rng := rand.New(rand.NewPCG(seed, 1))
		var loss float64
		d := make([][]float64, len(lp))
		for i, row := range lp {
			d[i] = make([]float64, len(row))
			for j, v := range row {
				d[i][j] = rng.NormFloat64()
				loss += d[i][j] * v
			}
		}
		return loss, d, nil
	}
}

// float64Grads runs the float64 graph of m's weights on b with
// fixedObjective(11) and returns the analytic gradient per tensor plus a
// function evaluating the loss after perturbing weight (i, j) by delta.
func float64Grads(t *testing.T, m *Model, b SeqBatch, temperature float64) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	obj := fixedObjective(11)
	return float64GraphGrads(t, m, b, graphKey{invT: 1 / temperature, train: true},
		func(lay *batchLayout, flat []float64) (float64, []float64, error) {
			return lay.callObjective(flat, obj)
		})
}

// float64GraphGrads is float64Grads for the training graph of key (whose
// B and T it fills in) with the given loss hook.
func float64GraphGrads(t *testing.T, m *Model, b SeqBatch, key graphKey,
	hook func(lay *batchLayout, flat []float64) (float64, []float64, error)) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	w := float64Weights(&m.netCore)
	lay, err := m.layout(b)
	if err != nil {
		t.Fatal(err)
	}
	key.B, key.T = lay.B, lay.T
	ng, err := buildNet(m.cfg, w, key)
	if err != nil {
		t.Fatal(err)
	}
	ng.hook.fn = func(flat []float64) (float64, []float64, error) { return hook(lay, flat) }
	return float64TrainGrads(t, ng, w, lay.tokens, lay.targets, lay.mask)
}

func TestModelGradientMatchesFiniteDifferencesInFloat64(t *testing.T) {
	for _, c := range tinyConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.cfg)
			grads, eval := float64Grads(t, m, tinyBatch, 0.8)
			checkFiniteDifferences(t, &m.netCore, grads, eval, 5)
		})
	}
}

func TestFloat32AccumulateMatchesFloat64Gradient(t *testing.T) {
	for _, c := range tinyConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.cfg)
			want, _ := float64Grads(t, m, tinyBatch, 0.8)
			before := append([]float32(nil), m.weight("wte")...)
			for range 2 { // twice: gradients must add up
				if _, err := m.Accumulate(tinyBatch, 0.8, fixedObjective(11)); err != nil {
					t.Fatal(err)
				}
			}
			checkAccumulated(t, &m.netCore, want, 2)
			for j, v := range m.weight("wte") {
				if v != before[j] {
					t.Fatalf("Accumulate changed weight wte[%d]", j)
				}
			}
		})
	}
}
