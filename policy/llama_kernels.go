package policy

import "math"

// Kernels of the Llama-family decoder shared by the training ops (float32,
// and float64 in gradient checks) and the inference engine.

// rmsNormRows writes y = x·rsqrt(mean(x²)+eps)·w over every group of
// len(w) consecutive values of x (a row when len(w) is the row width, a
// head under Qwen3's q/k norms). Like transformers' RMSNorm, x·rsqrt is
// rounded to the element type before the weight multiplies it; the mean
// accumulates in float64.
func rmsNormRows[T float](y, x, w []T, eps float64) {
	g := len(w)
	for lo := 0; lo < len(x); lo += g {
		xr, yr := x[lo:lo+g], y[lo:lo+g]
		r := rmsInv(xr, eps)
		for i, v := range xr {
			yr[i] = T(float64(v)*r) * w[i]
		}
	}
}

// rmsInv returns 1/sqrt(mean(x²)+eps).
func rmsInv[T float](x []T, eps float64) float64 {
	var ss float64
	for _, v := range x {
		ss += float64(v) * float64(v)
	}
	return 1 / math.Sqrt(ss/float64(len(x))+eps)
}

// rmsNormGradX writes dx for y = rmsNorm(x)·w given dy, per group:
// dx_i = r·w_i·dy_i − r³/G·x_i·Σ_j w_j·dy_j·x_j.
func rmsNormGradX[T float](dx, x, w, dy []T, eps float64) {
	g := len(w)
	for lo := 0; lo < len(x); lo += g {
		xr, dyr, dxr := x[lo:lo+g], dy[lo:lo+g], dx[lo:lo+g]
		r := rmsInv(xr, eps)
		var dot float64
		for i, v := range xr {
			dot += float64(w[i]) * float64(dyr[i]) * float64(v)
		}
		c := r * r * r * dot / float64(g)
		for i, v := range xr {
			dxr[i] = T(r*float64(w[i])*float64(dyr[i]) - c*float64(v))
		}
	}
}

// rmsNormGradW writes dw_i = Σ_groups dy_i·x_i·r.
func rmsNormGradW[T float](dw, x, dy []T, eps float64) {
	g := len(dw)
	acc := make([]float64, g)
	for lo := 0; lo < len(x); lo += g {
		xr, dyr := x[lo:lo+g], dy[lo:lo+g]
		r := rmsInv(xr, eps)
		for i, v := range xr {
			acc[i] += float64(dyr[i]) * float64(v) * r
		}
	}
	for i := range dw {
		dw[i] = T(acc[i])
	}
}

// ropeHalf rotates one head vector v at position t the way transformers'
// rotate_half does: the pairs are (v[i], v[i+dh/2]), not interleaved.
// inverse rotates by −angle (the transpose, for the backward pass).
func ropeHalf[T float](dst, v []T, cos, sin []float64, t int, inverse bool) {
	half := len(v) / 2
	c, s := cos[t*half:(t+1)*half], sin[t*half:(t+1)*half]
	for i := 0; i < half; i++ {
		x0, x1 := float64(v[i]), float64(v[i+half])
		sn := s[i]
		if inverse {
			sn = -sn
		}
		dst[i] = T(x0*c[i] - x1*sn)
		dst[i+half] = T(x1*c[i] + x0*sn)
	}
}

// silu returns x·σ(x).
func silu(x float64) float64 { return x / (1 + math.Exp(-x)) }

// swiglu writes y = silu(gate)·up.
func swiglu[T float](y, gate, up []T) {
	for i, g := range gate {
		y[i] = T(silu(float64(g))) * up[i]
	}
}

// swigluGrad writes d gate (wantUp false) or d up (wantUp true) of
// silu(gate)·up given dy: silu'(g) = σ(g)·(1 + g·(1−σ(g))).
func swigluGrad[T float](d, gate, up, dy []T, wantUp bool) {
	for i, g := range gate {
		x := float64(g)
		if wantUp {
			d[i] = T(float64(dy[i]) * silu(x))
			continue
		}
		s := 1 / (1 + math.Exp(-x))
		d[i] = T(float64(dy[i]) * float64(up[i]) * s * (1 + x*(1-s)))
	}
}

// gqaGeom is one grouped-query causal attention call over a right-padded
// batch: q (B·T, H·Dh), k and v (B·T, KV·Dh); query head h reads key/value
// head h/(H/KV) (transformers' repeat_kv).
type gqaGeom struct {
	B, T, H, KV, Dh int
}

func (g gqaGeom) kvOf(h int) int { return h / (g.H / g.KV) }

// gqaProbs writes P = causal masked softmax(q_h·k_kvᵀ/√Dh) of head h of
// sequence b into p (T×T).
func gqaProbs[T float](g gqaGeom, p, q, k, mask []T, b, h int) {
	ldq, ldk := g.H*g.Dh, g.KV*g.Dh
	qh := q[b*g.T*ldq+h*g.Dh:]
	kh := k[b*g.T*ldk+g.kvOf(h)*g.Dh:]
	scale := T(1 / math.Sqrt(float64(g.Dh)))
	gemm(false, true, g.T, g.T, g.Dh, scale, qh, ldq, kh, ldk, 0, p, g.T)
	maskedSoftmax(p, mask[b*g.T:(b+1)*g.T], g.T, true)
}

// gqaForward writes out (B·T, H·Dh) = P·v per head.
func gqaForward[T float](g gqaGeom, out, q, k, v, mask []T) {
	ldq, ldk := g.H*g.Dh, g.KV*g.Dh
	p := make([]T, g.T*g.T)
	for b := 0; b < g.B; b++ {
		for h := 0; h < g.H; h++ {
			gqaProbs(g, p, q, k, mask, b, h)
			vh := v[b*g.T*ldk+g.kvOf(h)*g.Dh:]
			gemm(false, false, g.T, g.Dh, g.T, 1, p, g.T, vh, ldk, 0, out[b*g.T*ldq+h*g.Dh:], ldq)
		}
	}
}

// gqaBackward writes the packed gradient d (B·T, (H+2·KV)·Dh), rows
// [dq | dk | dv], given dout (B·T, H·Dh). Probabilities are recomputed;
// dk and dv sum over the query heads sharing a key/value head.
func gqaBackward[T float](g gqaGeom, d, q, k, v, mask, dout []T) {
	ldq, ldk := g.H*g.Dh, g.KV*g.Dh
	ld := ldq + 2*ldk
	clear(d)
	p, dp := make([]T, g.T*g.T), make([]T, g.T*g.T)
	scale := 1 / math.Sqrt(float64(g.Dh))
	for b := 0; b < g.B; b++ {
		base := b * g.T * ld
		for h := 0; h < g.H; h++ {
			kv := g.kvOf(h)
			gqaProbs(g, p, q, k, mask, b, h)
			do := dout[b*g.T*ldq+h*g.Dh:]
			qh, kh, vh := q[b*g.T*ldq+h*g.Dh:], k[b*g.T*ldk+kv*g.Dh:], v[b*g.T*ldk+kv*g.Dh:]
			// dV += Pᵀ·dO; dP = dO·Vᵀ.
			gemm(true, false, g.T, g.Dh, g.T, 1, p, g.T, do, ldq, 1, d[base+ldq+ldk+kv*g.Dh:], ld)
			gemm(false, true, g.T, g.T, g.Dh, 1, do, ldq, vh, ldk, 0, dp, g.T)
			// dS = P ⊙ (dP − rowsum(dP⊙P)), folded with the score scale.
			for i := 0; i < g.T; i++ {
				pr, dr := p[i*g.T:(i+1)*g.T], dp[i*g.T:(i+1)*g.T]
				var dot float64
				for j := range pr {
					dot += float64(pr[j]) * float64(dr[j])
				}
				for j := range pr {
					dr[j] = T(float64(pr[j]) * (float64(dr[j]) - dot) * scale)
				}
			}
			// dQ = dS·K; dK += dSᵀ·Q.
			gemm(false, false, g.T, g.Dh, g.T, 1, dp, g.T, kh, ldk, 0, d[base+h*g.Dh:], ld)
			gemm(true, false, g.T, g.Dh, g.T, 1, dp, g.T, qh, ldq, 1, d[base+ldq+kv*g.Dh:], ld)
		}
	}
}
