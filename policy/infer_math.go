package policy

import "math"

// Fast elementwise math for the decode path. Generating 8k tokens of the
// default model takes about 17 million GELUs and 10 million exponentials
// (attention softmax, sampling); math.Tanh and math.Exp, exact to the last
// float64 bit, were a third of the decode time. These keep float64
// arithmetic but trade that last-bit accuracy, which float32 activations
// round away, for a table and a short polynomial (errors below 1e-9, far
// under float32's 6e-8), so logits agree with the training forward as
// before.

// expShift, added to a float64 of magnitude below 2⁵¹, rounds it to an
// integer held in the low bits of the sum.
const expShift = 0x1.8p52

// exp2Frac[j] holds the bits of 2^(j/64).
var exp2Frac = func() (t [64]uint64) {
	for j := range t {
		t[j] = math.Float64bits(math.Exp2(float64(j) / 64))
	}
	return t
}()

// expNeg returns e^x for x ≤ 0 (softmax and sampling exponentials) with
// relative error below 1e-10, and 0 below −708. x = k·ln2/64 + r with
// |r| ≤ ln2/128: 2^(k/64) from the exponent and exp2Frac, e^r by a
// cubic (remainder r⁴/24 < 4e-11). Short enough to inline.
func expNeg(x float64) float64 {
	if x < -708 {
		return 0
	}
	t := x*(64/math.Ln2) + expShift
	kf := t - expShift
	r := x - kf*(math.Ln2/64) // rounding ≤ |x|·2⁻⁵³: no Cody–Waite split needed for |x| ≤ 708
	p := 1 + r*(1+r*(1.0/2+r*(1.0/6)))
	// t's bits are those of 1.5·2⁵² plus k, whose multiple of 64 in bits
	// 6+ shifted to the exponent field leaves exactly floor(k/64)·2⁵²
	// (mod 2⁶⁴): 1.5·2⁵²/64 has no bits below 12 to survive the shift.
	b := math.Float64bits(t)
	return p * math.Float64frombits(exp2Frac[b&63]+b>>6<<52)
}

// softmaxScaled replaces s by softmax(scale·s), accumulating in float64
// like softmaxInPlace. The vector kernels take the leading multiple of 4
// with the same arithmetic (the sum still in ascending order).
func softmaxScaled(s []float32, scale float64) {
	mx, k := maxScaledVec(s, scale)
	if k == 0 {
		mx = math.Inf(-1)
	}
	for _, v := range s[k:] {
		if z := float64(v) * scale; z > mx {
			mx = z
		}
	}
	sum, k := expSumVec(s, scale, mx)
	for i, v := range s[k:] {
		e := expNeg(float64(v)*scale - mx)
		s[k+i] = float32(e)
		sum += e
	}
	inv := 1 / sum
	k = scaleVec(s, inv)
	for i := k; i < len(s); i++ {
		s[i] = float32(float64(s[i]) * inv)
	}
}

// GELU by table. activate's GELU is x·Φ(x) with the smooth step
// Φ(x) = 0.5·(1+tanh(√(2/π)(x+0.044715x³))). geluFast evaluates Φ by
// cubic Hermite interpolation on a grid of step 1/32 over [−8, 8) (values
// and slopes from math.Tanh at the nodes), within 1.4e-9 of Φ: relative
// error ≤ 7.5e-9 for x > −1, where float32 resolution is 6e-8, and an
// absolute error ≤ |x|·1.4e-9 in the left tail, where activate's own
// 1+tanh cancels. Outside the grid Φ is 0 or 1 to float64 precision, as
// it is for activate. That is three multiply-adds and a table read, a
// quarter of a tanh: GELU runs on 4·d_ff values per token.
const (
	geluLo    = -8.0
	geluSteps = 32 // grid points per unit
)

var geluTab = geluTable()

func geluTable() (tab [16 * geluSteps][4]float64) {
	phi := func(x float64) (f, df float64) {
		t := math.Tanh(geluC * (x + 0.044715*x*x*x))
		return 0.5 * (1 + t), 0.5 * (1 - t*t) * geluC * (1 + 3*0.044715*x*x)
	}
	h := 1.0 / geluSteps
	for i := range tab {
		f0, d0 := phi(geluLo + float64(i)*h)
		f1, d1 := phi(geluLo + float64(i+1)*h)
		m0, m1 := d0*h, d1*h
		tab[i] = [4]float64{f0, m0, 3*(f1-f0) - 2*m0 - m1, 2*(f0-f1) + m0 + m1}
	}
	return tab
}

// geluFast is activate(actGELU, u) by table (see geluTab).
func geluFast(u float32) float32 {
	x := float64(u)
	if !(x >= geluLo && x < -geluLo) {
		return geluTail(u)
	}
	v := (x - geluLo) * geluSteps
	i := int(v)
	c := &geluTab[i&(len(geluTab)-1)]
	s := v - float64(i)
	return float32(x * (c[0] + s*(c[1]+s*(c[2]+s*c[3]))))
}

// geluTail is GELU outside the table: x where Φ is 1, x·0 where it is 0
// (NaN for NaN or −Inf, as activate gives).
func geluTail(u float32) float32 {
	if u >= -geluLo {
		return u
	}
	return u * 0
}

// biasActRowsFast is biasActRows with geluFast, written out in the loop
// (too long for the inliner; the call was a third of its cost), the
// leading multiple of 4 of each row by the vector kernel, which gives
// the same bits.
func biasActRowsFast(y, x, b []float32, rows, d, act int) {
	if act != actGELU {
		biasActRows(y, x, b, rows, d, act)
		return
	}
	for r := 0; r < rows; r++ {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		br := b[:len(xr)]
		k := geluRowVec(yr, xr, br)
		xr, yr, br = xr[k:], yr[k:], br[k:]
		for j, u := range xr {
			u += br[j]
			xf := float64(u)
			if !(xf >= geluLo && xf < -geluLo) {
				yr[j] = geluTail(u)
				continue
			}
			v := (xf - geluLo) * geluSteps
			i := int(v)
			c := &geluTab[i&(len(geluTab)-1)]
			s := v - float64(i)
			yr[j] = float32(xf * (c[0] + s*(c[1]+s*(c[2]+s*c[3]))))
		}
	}
}

// layerNormRowsFast is layerNormRows for float32 rows, its float64 sums
// split over four accumulators: the two statistics passes were chains of
// dependent additions, one per element. The grouping changes the float64
// sums in their last bits only, far below the float32 result's rounding.
// The vector kernel repeats the same arithmetic lane for lane.
func layerNormRowsFast(y, x, g, b []float32, rows, d int) {
	if d%4 != 0 {
		layerNormRows(y, x, g, b, rows, d)
		return
	}
	g, b = g[:d], b[:d]
	for r := 0; r < rows; r++ {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		if layerNormRowVec(yr, xr, g, b) {
			continue
		}
		var s0, s1, s2, s3 float64
		for q := xr; len(q) >= 4; q = q[4:] {
			s0 += float64(q[0])
			s1 += float64(q[1])
			s2 += float64(q[2])
			s3 += float64(q[3])
		}
		mu := ((s0 + s1) + (s2 + s3)) / float64(d)
		s0, s1, s2, s3 = 0, 0, 0, 0
		for q := xr; len(q) >= 4; q = q[4:] {
			d0, d1 := float64(q[0])-mu, float64(q[1])-mu
			d2, d3 := float64(q[2])-mu, float64(q[3])-mu
			s0 += d0 * d0
			s1 += d1 * d1
			s2 += d2 * d2
			s3 += d3 * d3
		}
		rstd := 1 / math.Sqrt(((s0+s1)+(s2+s3))/float64(d)+lnEps)
		yr = yr[:len(xr)]
		for i, v := range xr {
			yr[i] = float32((float64(v)-mu)*rstd)*g[i] + b[i]
		}
	}
}
