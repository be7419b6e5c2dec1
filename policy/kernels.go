package policy

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"
	"gonum.org/v1/gonum/blas/blas64"
)

// float is the element type of every kernel: the training graph runs in
// float32, gradient checks run the very same kernels in float64.
type float interface{ ~float32 | ~float64 }

// lnEps is the layer-norm variance epsilon (as in GPT-2).
const lnEps = 1e-5

// blasTrans is BLAS's flag for a transposed (t) or plain operand.
func blasTrans(t bool) blas.Transpose {
	if t {
		return blas.Trans
	}
	return blas.NoTrans
}

// gemm computes C = alpha·op(A)·op(B) + beta·C on row-major storage with
// explicit leading dimensions, through the process-wide gonum blas32/blas64
// implementation (OpenBLAS under the openblas build tag).
func gemm[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blasTrans(tA), blasTrans(tB)
	switch a := any(a).(type) {
	case []float32:
		blas32.Implementation().Sgemm(ta, tb, m, n, k, float32(alpha), a, lda,
			any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		blas64.Implementation().Dgemm(ta, tb, m, n, k, float64(alpha), a, lda,
			any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// layerNormRows writes y[r] = (x[r]-mean)/sqrt(var+eps)·g + b for each of
// the rows of x (rows×d). Statistics accumulate in float64.
func layerNormRows[T float](y, x, g, b []T, rows, d int) {
	for r := 0; r < rows; r++ {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		mu, rstd := rowStats(xr)
		for i, v := range xr {
			yr[i] = T((float64(v)-mu)*rstd)*g[i] + b[i]
		}
	}
}

// rowStats returns the mean and 1/sqrt(var+eps) of one row.
func rowStats[T float](xr []T) (mu, rstd float64) {
	var s float64
	for _, v := range xr {
		s += float64(v)
	}
	mu = s / float64(len(xr))
	var ss float64
	for _, v := range xr {
		dv := float64(v) - mu
		ss += dv * dv
	}
	return mu, 1 / math.Sqrt(ss/float64(len(xr))+lnEps)
}

// layerNormGradX writes dx for y = LN(x)·g + b given dy (rows×d):
// dx = rstd·(dŷ − mean(dŷ) − x̂·mean(dŷ⊙x̂)) with dŷ = dy⊙g.
func layerNormGradX[T float](dx, x, g, dy []T, rows, d int) {
	for r := 0; r < rows; r++ {
		xr := x[r*d : (r+1)*d]
		mu, rstd := rowStats(xr)
		layerNormGradRow(dx[r*d:(r+1)*d], xr, g, dy[r*d:(r+1)*d], mu, rstd)
	}
}

// layerNormGradRow is layerNormGradX for one row whose mean and inverse
// standard deviation are mu and rstd.
func layerNormGradRow[T float](dxr, xr, g, dyr []T, mu, rstd float64) {
	var m1, m2 float64
	for i, v := range xr {
		dh := float64(dyr[i]) * float64(g[i])
		m1 += dh
		m2 += dh * (float64(v) - mu) * rstd
	}
	m1 /= float64(len(xr))
	m2 /= float64(len(xr))
	for i, v := range xr {
		xh := (float64(v) - mu) * rstd
		dh := float64(dyr[i]) * float64(g[i])
		dxr[i] = T(rstd * (dh - m1 - xh*m2))
	}
}

// layerNormGradG writes dg = Σ_rows dy⊙x̂ (length d).
func layerNormGradG[T float](dg, x, dy []T, rows, d int) {
	acc := make([]float64, d)
	for r := 0; r < rows; r++ {
		xr, dyr := x[r*d:(r+1)*d], dy[r*d:(r+1)*d]
		mu, rstd := rowStats(xr)
		for i, v := range xr {
			acc[i] += float64(dyr[i]) * (float64(v) - mu) * rstd
		}
	}
	for i := range dg {
		dg[i] = T(acc[i])
	}
}

// sumRows writes dst[j] = Σ_r src[r·d+j].
func sumRows[T float](dst, src []T, rows, d int) {
	acc := make([]float64, d)
	for r := 0; r < rows; r++ {
		for j, v := range src[r*d : (r+1)*d] {
			acc[j] += float64(v)
		}
	}
	for j := range dst {
		dst[j] = T(acc[j])
	}
}

// Activation codes shared by the graph ops and the inference path.
const (
	actNone = iota
	actGELU
	actReLU
)

func actCode(name string) int {
	if name == "relu" {
		return actReLU
	}
	return actGELU
}

const geluC = 0.7978845608028654 // sqrt(2/pi)

// activate returns act(u); GELU is the tanh approximation.
func activate[T float](act int, u T) T {
	switch act {
	case actGELU:
		x := float64(u)
		return T(0.5 * x * (1 + math.Tanh(geluC*(x+0.044715*x*x*x))))
	case actReLU:
		if u > 0 {
			return u
		}
		return 0
	}
	return u
}

// activateGrad returns d act(u) / du.
func activateGrad[T float](act int, u T) T {
	switch act {
	case actGELU:
		x := float64(u)
		t := math.Tanh(geluC * (x + 0.044715*x*x*x))
		return T(0.5*(1+t) + 0.5*x*(1-t*t)*geluC*(1+3*0.044715*x*x))
	case actReLU:
		if u > 0 {
			return 1
		}
		return 0
	}
	return 1
}

// biasActRows writes y = act(x + b) row-wise (rows×d, b length d).
func biasActRows[T float](y, x, b []T, rows, d, act int) {
	for r := 0; r < rows; r++ {
		xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
		for j, v := range xr {
			yr[j] = activate(act, v+b[j])
		}
	}
}

// rowLogProb returns log_softmax(row·invT)[target] and the log-partition
// function of the tempered row, accumulating in float64. It is THE
// definition of a token log-probability shared by training and inference.
func rowLogProb[T float](row []T, invT float64, target int) (logp, lse float64) {
	lse = rowLSE(row, invT)
	return float64(row[target])*invT - lse, lse
}

// rowLSE returns log Σ exp(row·invT).
func rowLSE[T float](row []T, invT float64) float64 {
	mx := math.Inf(-1)
	for _, v := range row {
		if z := float64(v) * invT; z > mx {
			mx = z
		}
	}
	var s float64
	for _, v := range row {
		s += math.Exp(float64(v)*invT - mx)
	}
	return mx + math.Log(s)
}

// rowEntropy returns the entropy of softmax(row·invT) given its lse.
func rowEntropy[T float](row []T, invT, lse float64) float64 {
	var h float64
	for _, v := range row {
		lp := float64(v)*invT - lse
		h -= math.Exp(lp) * lp
	}
	return h
}

// ropeTable returns cos and sin tables (positions×half) for rotary
// embeddings with base 10000: angle(t, i) = t·10000^(−2i/dh).
func ropeTable(positions, dh int) (cos, sin []float64) {
	half := dh / 2
	cos, sin = make([]float64, positions*half), make([]float64, positions*half)
	for t := 0; t < positions; t++ {
		for i := 0; i < half; i++ {
			a := float64(t) * math.Pow(10000, -2*float64(i)/float64(dh))
			cos[t*half+i], sin[t*half+i] = math.Cos(a), math.Sin(a)
		}
	}
	return cos, sin
}

// ropeApply rotates the interleaved pairs (v[2i], v[2i+1]) of one head
// vector at position t by +angle (inverse=false) or −angle (inverse=true).
func ropeApply[T float](dst, v []T, cos, sin []float64, t int, inverse bool) {
	half := len(v) / 2
	c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
	for i := 0; i < half; i++ {
		x0, x1 := float64(v[2*i]), float64(v[2*i+1])
		sn := s[i]
		if inverse {
			sn = -sn
		}
		dst[2*i] = T(x0*c[i] - x1*sn)
		dst[2*i+1] = T(x0*sn + x1*c[i])
	}
}
