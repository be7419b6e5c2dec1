package policy

import (
	"math"
	"math/rand/v2"
	"testing"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestLlamaOpGradients checks every Llama op's symbolic gradient against
// central finite differences in float64 (checkOpGrad).
func TestLlamaOpGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ropeCfg := LlamaConfig{HeadDim: 4, RopeTheta: 10000}
	scaled := LlamaConfig{HeadDim: 8, RopeTheta: 500000, RopeScaling: &Llama3RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 16}}
	gqa := func(T, H, KV, Dh int) gqaAttentionOp { return gqaAttentionOp{gqaGeom{T: T, H: H, KV: KV, Dh: Dh}} }
	checkOpGrads(t, []opGradCase{
		{"linear x·Wᵀ", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 5, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(linearTOp{}, n...) }},
		{"linear x·Wᵀ + b", nil, []*tensor.Dense{randDense(rng, 1, 3, 4), randDense(rng, 1, 5, 4), randDense(rng, 1, 5)},
			func(n []*G.Node) (*G.Node, error) { return apply(linearTOp{bias: true}, n...) }},
		{"rms norm over rows", nil, []*tensor.Dense{randDense(rng, 2, 4, 6), randDense(rng, 1, 6)},
			func(n []*G.Node) (*G.Node, error) { return apply(rmsNormOp{eps: 1e-6}, n...) }},
		{"per-head rms norm (q/k norm)", nil, []*tensor.Dense{randDense(rng, 2, 3, 8), randDense(rng, 1, 4)},
			func(n []*G.Node) (*G.Node, error) { return apply(rmsNormOp{eps: 1e-5}, n...) }},
		{"swiglu", nil, []*tensor.Dense{randDense(rng, 2, 3, 5), randDense(rng, 1, 3, 5)},
			func(n []*G.Node) (*G.Node, error) { return apply(swigluOp{}, n...) }},
		{"rotate-half rope", nil, []*tensor.Dense{randDense(rng, 1, 6, 8)},
			func(n []*G.Node) (*G.Node, error) { return apply(newRopeOp(ropeCfg, 3), n...) }},
		{"rope with llama3 scaling", nil, []*tensor.Dense{randDense(rng, 1, 8, 16)},
			func(n []*G.Node) (*G.Node, error) { return apply(newRopeOp(scaled, 4), n...) }},
		{"gqa attention 4 heads over 2 kv heads with padding", []int{3},
			[]*tensor.Dense{randDense(rng, 1, 8, 8), randDense(rng, 1, 8, 4), randDense(rng, 1, 8, 4), maskVec(1, 1, 1, 0, 1, 1, 1, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(gqa(4, 4, 2, 2), n...) }},
		{"gqa attention 3 heads over 1 kv head", []int{3},
			[]*tensor.Dense{randDense(rng, 1, 6, 12), randDense(rng, 1, 6, 4), randDense(rng, 1, 6, 4), maskVec(1, 1, 1, 1, 1, 0)},
			func(n []*G.Node) (*G.Node, error) { return apply(gqa(3, 3, 1, 4), n...) }},
		{"multi-head attention (kv heads = heads)", []int{3},
			[]*tensor.Dense{randDense(rng, 1, 6, 4), randDense(rng, 1, 6, 4), randDense(rng, 1, 6, 4), maskVec(1, 1, 0, 1, 1, 1)},
			func(n []*G.Node) (*G.Node, error) { return apply(gqa(3, 2, 2, 2), n...) }},
	})
}

// TestRopeHalfPairsAreNotInterleaved pins the rotate_half convention:
// element i pairs with i+dh/2, and position 0 is the identity.
func TestRopeHalfPairsAreNotInterleaved(t *testing.T) {
	c := LlamaConfig{HeadDim: 4, RopeTheta: 10000}
	cos, sin := c.ropeAngles(2)
	v := []float64{1, 2, 3, 4}
	out := make([]float64, 4)
	ropeHalf(out, v, cos, sin, 0, false)
	for i := range v {
		if out[i] != v[i] {
			t.Fatalf("position 0 changed %v to %v", v, out)
		}
	}
	ropeHalf(out, v, cos, sin, 1, false)
	// Frequency 0 is 1 rad/position: (v0, v2) rotate by 1 rad.
	want0, want2 := 1*math.Cos(1)-3*math.Sin(1), 3*math.Cos(1)+1*math.Sin(1)
	if math.Abs(out[0]-want0) > 1e-6 || math.Abs(out[2]-want2) > 1e-6 {
		t.Errorf("pair (0, 2) rotated to (%v, %v), want (%v, %v)", out[0], out[2], want0, want2)
	}
}

// TestLlama3InvFreqBands checks the three llama3 bands on a hand-computable
// case: theta 10000, head_dim 8 gives wavelengths 2π·10^(i) for i = 0..3;
// with original 1000 positions, low 1, high 4 the bands are wavelength
// < 250 kept, > 1000 divided by the factor, in between interpolated.
func TestLlama3InvFreqBands(t *testing.T) {
	c := LlamaConfig{HeadDim: 8, RopeTheta: 10000, RopeScaling: &Llama3RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 1000}}
	f := c.invFreq()
	base := []float64{1, 0.1, 0.01, 0.001}
	// wavelen: 6.28 (kept), 62.8 (kept), 628 (interpolated), 6283 (÷8).
	wl := 2 * math.Pi / 0.01
	smooth := (1000/wl - 1) / 3
	want := []float64{base[0], base[1], (1-smooth)*0.01/8 + smooth*0.01, base[3] / 8}
	for i := range want {
		if math.Abs(float64(f[i])-want[i]) > 1e-6*want[i] {
			t.Errorf("inv_freq[%d] = %v, want %v", i, f[i], want[i])
		}
	}
}
