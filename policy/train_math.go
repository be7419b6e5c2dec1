package policy

import "math"

// Float32 element-wise math for the training graph. The float32 graph
// spent about a third of a step in math.Exp and math.Tanh on float64
// (GELU forward and backward, attention softmax); these single-precision
// versions are several times cheaper and accurate to a few ulp, far inside
// the 1e-4 log-prob agreement with generation. They are plain Go with a
// fixed operation order, so results are deterministic. The float64 graph
// (gradient checks) keeps the math package.

// Cephes expf constants: ln 2 split for Cody–Waite range reduction, and
// the minimax polynomial of e^r on |r| ≤ ln2/2.
const (
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
	// expHi and expLo bound the arguments whose result is a normal float32:
	// above, +Inf; below, 0 (denormals are flushed, which no caller can
	// tell from 0 after a multiply-add).
	expHi = 88.3762626647949
	expLo = -87.3365447505531
)

// expf returns e^x in float32 (max error about 2 ulp over the normal
// range). NaN gives NaN.
func expf(x float32) float32 {
	switch {
	case x != x:
		return x
	case x > expHi:
		return float32(math.Inf(1))
	case x < expLo:
		return 0
	}
	// n = round(x·log2 e), r = x − n·ln 2 in two steps for accuracy.
	fn := x*expLog2e + 0.5
	n := int32(fn)
	if fn < 0 && float32(n) != fn {
		n-- // floor for negatives
	}
	nf := float32(n)
	r := x - nf*expC1
	r -= nf * expC2
	p := ((((expP0*r+expP1)*r+expP2)*r+expP3)*r+expP4)*r + expP5
	p = p*r*r + r + 1
	// Scale by 2^n in two halves so n = −126…128 stays exact.
	h := n / 2
	return p * math.Float32frombits(uint32(h+127)<<23) * math.Float32frombits(uint32(n-h+127)<<23)
}

// geluF32 returns GELU(u) with the tanh approximation, written as
// u·σ(2z) with z = √(2/π)(u + 0.044715u³) so one expf suffices.
func geluF32(u float32) float32 {
	z := geluC * (u + 0.044715*u*u*u)
	return u / (1 + expf(-2*z))
}

// geluGradF32 returns dGELU/du: with s = σ(2z) (so 1+tanh z = 2s and
// 1−tanh²z = 4s(1−s)), 0.5(1+t) + 0.5u(1−t²)z' = s + 2u·s(1−s)·z'.
func geluGradF32(u float32) float32 {
	z := geluC * (u + 0.044715*u*u*u)
	s := 1 / (1 + expf(-2*z))
	return s + 2*u*s*(1-s)*geluC*(1+3*0.044715*u*u)
}

// biasActTrain is biasActRows for the training graph: rows in parallel
// (see parRows) and, in float32, GELU through geluRow. With a stash it
// keeps GELU's sigmoid for the gradient where the vector kernel can
// (stash.s is then non-nil).
func biasActTrain[T float](y, x, b []T, rows, d, act int, stash *geluStash) {
	var keep []float32
	if _, ok := any(y).([]float32); ok && act == actGELU && stash != nil && haveGELUKeep {
		keep = stash.keepFor(len(y), x)
	}
	parRows(rows, rowGrain, func(lo, hi int) {
		if act == actNone { // a bias add: skip activate's per-element switch
			for r := lo; r < hi; r++ {
				xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
				for j, v := range xr[:len(b)] {
					yr[j] = v + b[j]
				}
			}
			return
		}
		y32, ok := any(y).([]float32)
		if !ok || act != actGELU {
			biasActRows(y[lo*d:hi*d], x[lo*d:hi*d], b, hi-lo, d, act)
			return
		}
		x32, b32 := any(x).([]float32), any(b).([]float32)
		for r := lo; r < hi; r++ {
			if keep == nil || !geluKeepRow(y32[r*d:(r+1)*d], keep[r*d:(r+1)*d], x32[r*d:(r+1)*d], b32) {
				geluRow(y32[r*d:(r+1)*d], x32[r*d:(r+1)*d], b32)
			}
		}
	})
}

// biasActGradTrain writes dx = dy ⊙ act'(x + b), rows in parallel and, in
// float32, GELU' through geluGradRow, or from the forward pass's sigmoid
// when the stash kept it for x.
func biasActGradTrain[T float](dx, x, b, dy []T, act int, stash *geluStash) {
	d := len(b)
	kept := stash.keptFor(x)
	parRows(len(x)/d, rowGrain, func(lo, hi int) {
		dx32, ok := any(dx).([]float32)
		if !ok || act != actGELU {
			biasActGrad(dx[lo*d:hi*d], x[lo*d:hi*d], b, dy[lo*d:hi*d], act)
			return
		}
		x32, b32, dy32 := any(x).([]float32), any(b).([]float32), any(dy).([]float32)
		for r := lo; r < hi; r++ {
			if kept != nil {
				geluGradKeptRow(dx32[r*d:(r+1)*d], x32[r*d:(r+1)*d], b32, kept[r*d:(r+1)*d], dy32[r*d:(r+1)*d])
				continue
			}
			geluGradRow(dx32[r*d:(r+1)*d], x32[r*d:(r+1)*d], b32, dy32[r*d:(r+1)*d])
		}
	})
}

// softmaxTrain is maskedSoftmax for the training attention: in float32 it
// works in single precision with expf; float64 keeps maskedSoftmax.
func softmaxTrain[T float](s, keyMask []T, n int, causal bool) {
	s32, ok := any(s).([]float32)
	if !ok {
		maskedSoftmax(s, keyMask, n, causal)
		return
	}
	mask := any(keyMask).([]float32)
	if softmaxRowsVec(s32, mask, n, causal) {
		return
	}
	for i := 0; i < n; i++ {
		row := s32[i*n : (i+1)*n]
		hi := n
		if causal {
			hi = i + 1
		}
		mx, seen := float32(0), false
		for j := 0; j < hi; j++ {
			if mask[j] != 0 && (!seen || row[j] > mx) {
				mx, seen = row[j], true
			}
		}
		clear(row[hi:])
		if !seen || math.IsInf(float64(mx), -1) {
			clear(row[:hi])
			continue
		}
		expSub(row[:hi], mx)
		var sum float32
		for j := 0; j < hi; j++ {
			if mask[j] == 0 {
				row[j] = 0
			}
			sum += row[j]
		}
		inv := 1 / sum
		for j := 0; j < hi; j++ {
			row[j] *= inv
		}
	}
}

// geluRowScalar is geluRow without vector instructions.
func geluRowScalar(y, x, b []float32) {
	for j, v := range x[:len(b)] {
		y[j] = geluF32(v + b[j])
	}
}

// geluGradRowScalar is geluGradRow without vector instructions.
func geluGradRowScalar(dx, x, b, dy []float32) {
	for j, v := range x[:len(b)] {
		dx[j] = dy[j] * geluGradF32(v+b[j])
	}
}

// expSubScalar is expSub without vector instructions.
func expSubScalar(p []float32, m float32) {
	for i, v := range p {
		p[i] = expf(v - m)
	}
}

// geluStash keeps one GELU node's sigmoids σ(2z) from the forward pass of
// the current run (float32, vector kernel only), with the input they came
// from, so the gradient skips the exponential; the kept values are the
// ones the gradient would compute, so results are unchanged.
type geluStash struct {
	s []float32
	x any
}

// haveGELUKeep reports whether geluKeepRow keeps anything on this build.
var haveGELUKeep = geluKeepRow(nil, nil, nil, nil)

// keepFor returns an n-element buffer bound to x.
func (st *geluStash) keepFor(n int, x any) []float32 {
	if len(st.s) != n {
		st.s = make([]float32, n)
	}
	st.x = x
	return st.s
}

// keptFor returns the sigmoids kept for x, or nil.
func (st *geluStash) keptFor(x any) []float32 {
	if st == nil || !sameSlice(st.x, x) {
		return nil
	}
	return st.s
}
