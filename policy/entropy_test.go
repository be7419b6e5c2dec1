package policy

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// TestEntropyGolden pins the gather's log-prob and entropy outputs to a
// float64 reference written from the definitions, independently of this
// package: testdata/entropy_ref.py (values pasted from its output). The
// temperature cases catch an entropy taken at the wrong temperature.
func TestEntropyGolden(t *testing.T) {
	row := []float64{0.5, -1.25, 2.0, 0.0, 1.5}
	cases := []struct {
		temperature   float64
		target        int
		logp, entropy float64
	}{
		{1.0, 2, -0.6950305613490908, 1.211380816845884},
		{0.7, 2, -0.5151703249718413, 0.998988948138549},
		{0.7, 1, -5.158027467828984, 0.998988948138549},
		{1.6, 4, -1.24501736774877, 1.4127937930808545},
	}
	for _, c := range cases {
		// Two rows, the first unscored: it must read 0 in both halves.
		logits := tensor.New(tensor.WithShape(2, len(row)), tensor.WithBacking(append(append([]float64(nil), row...), row...)))
		out := tensor.New(tensor.WithShape(4), tensor.Of(tensor.Float64))
		if err := (logProbEntropyOp{invT: 1 / c.temperature}).do(out, []*tensor.Dense{logits, intDense(-1, c.target)}); err != nil {
			t.Fatal(err)
		}
		got := out.Data().([]float64)
		want := []float64{0, c.logp, 0, c.entropy}
		for i := range want {
			if math.Abs(got[i]-want[i]) > 1e-12 {
				t.Errorf("T=%v target %d: output %d = %.17g, want %.17g", c.temperature, c.target, i, got[i], want[i])
			}
		}
	}
}

// fixedEntropyObjective is loss = wl·Σ c⊙logp + wh·Σ e⊙H for constants c
// and e drawn from seed.
func fixedEntropyObjective(seed uint64, wl, wh float64) EntropyLossGradFunc {
	return func(lp, ent [][]float64) (float64, [][]float64, [][]float64, error) {
		rng := rand.New(rand.NewPCG(seed, 2))
		var loss float64
		dl, de := make([][]float64, len(lp)), make([][]float64, len(lp))
		for i, row := range lp {
			dl[i], de[i] = make([]float64, len(row)), make([]float64, len(row))
			for j := range row {
				dl[i][j], de[i][j] = wl*rng.NormFloat64(), wh*rng.NormFloat64()
				loss += dl[i][j]*lp[i][j] + de[i][j]*ent[i][j]
			}
		}
		return loss, dl, de, nil
	}
}

// entropyObjectives weigh the log-prob and entropy terms; "entropy only"
// checks the entropy path's gradient without the log-prob path beside it.
var entropyObjectives = []struct {
	name   string
	wl, wh float64
}{
	{"entropy only", 0, 1},
	{"log-probs and entropies", 1, 1},
}

func float64EntropyGrads(t *testing.T, m *Model, temperature, wl, wh float64) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	obj := fixedEntropyObjective(13, wl, wh)
	return float64GraphGrads(t, m, tinyBatch, graphKey{invT: 1 / temperature, train: true, entropy: true},
		func(lay *batchLayout, flat []float64) (float64, []float64, error) {
			return lay.callEntropyObjective(flat, obj)
		})
}

func TestModelEntropyGradientMatchesFiniteDifferencesInFloat64(t *testing.T) {
	for _, c := range tinyConfigs {
		for _, o := range entropyObjectives {
			t.Run(c.name+"/"+o.name, func(t *testing.T) {
				m := tinyModel(t, c.cfg)
				grads, eval := float64EntropyGrads(t, m, 0.8, o.wl, o.wh)
				checkFiniteDifferences(t, &m.netCore, grads, eval, 6)
			})
		}
	}
}

func TestFloat32AccumulateWithEntropyMatchesFloat64Gradient(t *testing.T) {
	for _, c := range tinyConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyModel(t, c.cfg)
			want, _ := float64EntropyGrads(t, m, 0.8, 1, 1)
			if _, err := m.AccumulateWithEntropy(tinyBatch, 0.8, fixedEntropyObjective(13, 1, 1)); err != nil {
				t.Fatal(err)
			}
			checkAccumulated(t, &m.netCore, want, 1)
		})
	}
}

// The objective must see exactly what LogProbs reports (the behaviour
// log-probs and the entropy diagnostic), and a nil dentropy must mean no
// entropy gradient: the update is then Accumulate's.
func TestAccumulateWithEntropySeesLogProbsValues(t *testing.T) {
	m := tinyModel(t, tinyConfigs[0].cfg)
	lp, ent, err := m.LogProbs(tinyBatch, 0.8)
	if err != nil {
		t.Fatal(err)
	}
	plain := fixedObjective(11)
	_, err = m.AccumulateWithEntropy(tinyBatch, 0.8, func(gl, ge [][]float64) (float64, [][]float64, [][]float64, error) {
		for i := range lp {
			for j := range lp[i] {
				if gl[i][j] != float64(lp[i][j]) || ge[i][j] != float64(ent[i][j]) {
					t.Fatalf("token (%d,%d): objective saw (%v, %v), LogProbs (%v, %v)", i, j, gl[i][j], ge[i][j], lp[i][j], ent[i][j])
				}
			}
		}
		loss, d, err := plain(gl)
		return loss, d, nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	withEntropy := flatGrad(m)
	m.ZeroGrad()
	if _, err := m.Accumulate(tinyBatch, 0.8, plain); err != nil {
		t.Fatal(err)
	}
	tl := loadTol(t, "model_grad_f32_vs_f64")
	for j, v := range flatGrad(m) {
		if !tl.ok(float64(withEntropy[j]), float64(v)) {
			t.Fatalf("gradient %d: %v with a nil entropy gradient, %v from Accumulate", j, withEntropy[j], v)
		}
	}
}

func TestAccumulateWithEntropyRejectsMisshapedGradients(t *testing.T) {
	m := tinyModel(t, tinyConfigs[0].cfg)
	cases := []struct {
		name, want string
		cut        func(dl, de [][]float64) ([][]float64, [][]float64)
	}{
		{"short entropy row", "1 entropy gradients for sequence 0", func(dl, de [][]float64) ([][]float64, [][]float64) {
			de[0] = de[0][:1]
			return dl, de
		}},
		{"missing entropy rows", "1 entropy gradient rows", func(dl, de [][]float64) ([][]float64, [][]float64) { return dl, de[:1] }},
		{"missing log-prob rows", "1 log-prob gradient rows", func(dl, de [][]float64) ([][]float64, [][]float64) { return dl[:1], de }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			obj := fixedEntropyObjective(1, 1, 1)
			_, err := m.AccumulateWithEntropy(tinyBatch, 1, func(lp, ent [][]float64) (float64, [][]float64, [][]float64, error) {
				loss, dl, de, err := obj(lp, ent)
				dl, de = c.cut(dl, de)
				return loss, dl, de, err
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func flatGrad(m *Model) []float32 {
	var out []float32
	for _, g := range m.grad {
		out = append(out, g...)
	}
	return out
}
