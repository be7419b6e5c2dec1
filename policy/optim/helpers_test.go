package optim

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
)

// close reports |got-want| <= atol + rtol*|want|.
func close(got, want, atol, rtol float64) bool {
	return math.Abs(got-want) <= atol+rtol*math.Abs(want)
}

// noise returns a deterministic value in [-1, 1) for (step, param, index).
func noise(step, p, i int) float64 {
	h := rng.SplitMix64(uint64(step)<<40 ^ uint64(p)<<20 ^ uint64(i))
	return float64(h>>11)/(1<<52) - 1
}

// model is a toy set of parameters with a quadratic loss toward a target
// plus deterministic noise, so gradients depend on the weights.
type model struct {
	params []Param
}

func newModel(sizes ...int) *model {
	m := &model{}
	for p, n := range sizes {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(noise(-1, p, i))
		}
		m.params = append(m.params, Param{
			Name: "p" + string(rune('a'+p)), Value: v, Grad: make([]float32, n), NoDecay: p == len(sizes)-1,
		})
	}
	return m
}

// grads fills the gradients for step: g = (w - 0.3) + 0.1*noise.
func (m *model) grads(step int) {
	for p, prm := range m.params {
		for i, w := range prm.Value {
			prm.Grad[i] = float32(float64(w) - 0.3 + 0.1*noise(step, p, i))
		}
	}
}

func (m *model) clone() *model {
	c := &model{}
	for _, p := range m.params {
		c.params = append(c.params, Param{Name: p.Name, NoDecay: p.NoDecay,
			Value: append([]float32(nil), p.Value...), Grad: make([]float32, len(p.Grad))})
	}
	return c
}

func mustAdamW(t testing.TB, cfg AdamWConfig) *AdamW {
	t.Helper()
	o, err := NewAdamW(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
