package policy

import "math"

// Fast elementwise math for the decode path. Generation calls exp about
// 20 million times per 8k generated tokens (attention softmax, GELU,
// sampling); math.Exp and math.Tanh, exact to the last float64 bit, were a
// fifth of the decode time. These keep float64 arithmetic but trade that
// last-bit accuracy (which float32 activations round away) for a short
// polynomial: relative error below 1e-9, far under float32's 6e-8, so
// logits agree with the training forward as before.

const (
	expShift = 0x1.8p52 // adding it rounds a float64 to an integer
	ln2Hi    = 6.93147180369123816490e-01
	ln2Lo    = 1.90821492927058770002e-10
	log2e    = 1.44269504088896338700e+00
)

// fastExp returns e^x with relative error below 1e-9 for x ≤ 709; it
// returns 0 below −708 (e^x underflows float32 long before) and +Inf above
// 709. x = k·ln2 + r with |r| ≤ ln2/2, e^r by its degree-8 Taylor
// polynomial (remainder r⁹/9! < 2e-10), times 2^k built in the exponent.
func fastExp(x float64) float64 {
	switch {
	case x < -708:
		return 0
	case x > 709:
		return math.Inf(1)
	case x != x:
		return x
	}
	t := x*log2e + expShift
	k := int64(int32(uint32(math.Float64bits(t))))
	kf := t - expShift
	r := x - kf*ln2Hi - kf*ln2Lo
	// Estrin's scheme: the pairs are independent, halving the latency of
	// the chain Horner's rule would make.
	r2 := r * r
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	p47 := p45 + r2*(p67+r2*(1.0/40320))
	p := p01 + r2*(p23+r2*p47)
	return p * math.Float64frombits(uint64(k+1023)<<52)
}

// softmaxScaled replaces s by softmax(scale·s), accumulating in float64
// like softmaxInPlace.
func softmaxScaled(s []float32, scale float64) {
	mx := math.Inf(-1)
	for _, v := range s {
		if z := float64(v) * scale; z > mx {
			mx = z
		}
	}
	var sum float64
	for i, v := range s {
		e := fastExp(float64(v)*scale - mx)
		s[i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	for i := range s {
		s[i] = float32(float64(s[i]) * inv)
	}
}

// geluFast is activate(actGELU, u): 0.5·x·(1+tanh(y)) with
// y = √(2/π)(x+0.044715x³), computed as x/(1+e^t), t = −2y, the same
// function with one exponential instead of a tanh. t is clamped to ±80
// (e^−80 is far below float32 resolution next to 1, and x/e^80 is 0 for
// any activation), which keeps fastExp's range checks out of this loop,
// the hottest elementwise one of decoding; the exponential is fastExp's
// inlined.
func geluFast(u float32) float32 {
	x := float64(u)
	t := -2 * geluC * (x + 0.044715*x*x*x)
	if t > 80 {
		t = 80
	}
	if t < -80 {
		t = -80
	}
	tt := t*log2e + expShift
	k := int64(int32(uint32(math.Float64bits(tt))))
	kf := tt - expShift
	r := t - kf*ln2Hi - kf*ln2Lo
	r2 := r * r
	p01 := 1 + r
	p23 := 1.0/2 + r*(1.0/6)
	p45 := 1.0/24 + r*(1.0/120)
	p67 := 1.0/720 + r*(1.0/5040)
	p47 := p45 + r2*(p67+r2*(1.0/40320))
	e := (p01 + r2*(p23+r2*p47)) * math.Float64frombits(uint64(k+1023)<<52)
	return float32(x / (1 + e))
}

// biasActRowsFast is biasActRows with geluFast.
func biasActRowsFast(y, x, b []float32, rows, d, act int) {
	if act != actGELU {
		biasActRows(y, x, b, rows, d, act)
		return
	}
	for r := 0; r < rows; r++ {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		for j, v := range xr {
			yr[j] = geluFast(v + b[j])
		}
	}
}
