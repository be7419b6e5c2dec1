package policy

import "math"

// attnGeom is the geometry of one multi-head attention call over a padded
// batch: qkv is (B·T, 3D) with rows [q | k | v], each D = H·Dh wide and
// split into H contiguous heads; the output is (B·T, D).
type attnGeom struct {
	B, T, H, Dh int
	Causal      bool
	cos, sin    []float64 // rotary tables (T×Dh/2); nil without rotary
}

func (g attnGeom) d() int { return g.H * g.Dh }

// headQK returns head h of sequence b's queries and keys with their leading
// dimensions: strided views into qkv, or rotated copies in qb/kb (T×Dh)
// under rotary positions.
func headQK[T float](g attnGeom, qkv []T, b, h int, qb, kb []T) (q []T, ldq int, k []T, ldk int) {
	d, ld := g.d(), 3*g.d()
	base := b * g.T * ld
	qv, kv := qkv[base+h*g.Dh:], qkv[base+d+h*g.Dh:]
	if g.cos == nil {
		return qv, ld, kv, ld
	}
	for t := 0; t < g.T; t++ {
		ropeApply(qb[t*g.Dh:(t+1)*g.Dh], qv[t*ld:t*ld+g.Dh], g.cos, g.sin, t, false)
		ropeApply(kb[t*g.Dh:(t+1)*g.Dh], kv[t*ld:t*ld+g.Dh], g.cos, g.sin, t, false)
	}
	return qb, g.Dh, kb, g.Dh
}

// maskedSoftmax turns the score matrix s (T×T) into attention
// probabilities in place: query i sees key j iff keyMask[j] != 0 and, when
// causal, j <= i. A query that sees no key gets an all-zero row.
func maskedSoftmax[T float](s, keyMask []T, n int, causal bool) {
	for i := 0; i < n; i++ {
		row := s[i*n : (i+1)*n]
		hi := n
		if causal {
			hi = i + 1
		}
		mx := math.Inf(-1)
		for j := 0; j < hi; j++ {
			if keyMask[j] != 0 && float64(row[j]) > mx {
				mx = float64(row[j])
			}
		}
		var sum float64
		for j := range row {
			if j >= hi || keyMask[j] == 0 || math.IsInf(mx, -1) {
				row[j] = 0
				continue
			}
			e := math.Exp(float64(row[j]) - mx)
			row[j] = T(e)
			sum += e
		}
		if sum > 0 {
			inv := 1 / sum
			for j := 0; j < hi; j++ {
				row[j] = T(float64(row[j]) * inv)
			}
		}
	}
}

// causalBlock is the row block of the causal attention products: queries
// ib..ib+causalBlock see keys 0..ib+causalBlock only, so each block's
// products stop there instead of running over all T keys (about 3/8 of
// the attention arithmetic at T = 128). The skipped terms are exact zeros
// (masked probabilities), so the results are unchanged.
const causalBlock = 32

// rowBlocks calls f for each block of query rows [i0, i1) with the number
// of keys they see: T (one block) without causal masking.
func (g attnGeom) rowBlocks(f func(i0, i1, keys int)) {
	if !g.Causal {
		f(0, g.T, g.T)
		return
	}
	for i0 := 0; i0 < g.T; i0 += causalBlock {
		i1 := min(i0+causalBlock, g.T)
		f(i0, i1, i1)
	}
}

// keyBlocks calls f for each block of keys [j0, j1) with the first query
// row that sees them: 0 (one block) without causal masking.
func (g attnGeom) keyBlocks(f func(j0, j1, first int)) {
	if !g.Causal {
		f(0, g.T, 0)
		return
	}
	for j0 := 0; j0 < g.T; j0 += causalBlock {
		f(j0, min(j0+causalBlock, g.T), j0)
	}
}

// attnProbs computes P = softmax(q·kᵀ/√Dh) (masked, see maskedSoftmax) for
// head h of sequence b into p (T×T) and returns the head's q and k (see
// headQK). Under causal masking the scores above each row block are not
// computed; the softmax writes zeros there. It runs on one goroutine (one
// head per goroutine, see parFor).
func attnProbs[T float](g attnGeom, p, qkv, keyMask []T, b, h int, qb, kb []T) (q []T, ldq int, k []T, ldk int) {
	q, ldq, k, ldk = headQK(g, qkv, b, h, qb, kb)
	scale := T(1 / math.Sqrt(float64(g.Dh)))
	g.rowBlocks(func(i0, i1, keys int) {
		gemmSerial(false, true, i1-i0, keys, g.Dh, scale, q[i0*ldq:], ldq, k, ldk, 0, p[i0*g.T:], g.T)
	})
	softmaxTrain(p, keyMask[b*g.T:(b+1)*g.T], g.T, g.Causal)
	return q, ldq, k, ldk
}

// attnScratch is one goroutine's attention buffers: probabilities and
// their gradient (T×T), and rotated q, k and their gradients (T×Dh, only
// under rotary positions).
type attnScratch[T float] struct {
	p, dp, qb, kb, dqb, dkb []T
}

func newAttnScratch[T float](g attnGeom, backward bool) *attnScratch[T] {
	s := &attnScratch[T]{p: make([]T, g.T*g.T)}
	if backward {
		s.dp = make([]T, g.T*g.T)
	}
	if g.cos != nil {
		s.qb, s.kb = make([]T, g.T*g.Dh), make([]T, g.T*g.Dh)
		s.dqb, s.dkb = make([]T, g.T*g.Dh), make([]T, g.T*g.Dh)
	}
	return s
}

// attnForward writes out (B·T, D) = softmax(q·kᵀ/√Dh + mask)·v per head.
// keyMask is (B·T): 1 for a real token, 0 for padding. Heads run in
// parallel; each writes only its own columns of its own rows.
//
// With keep (B·H·T×T) it leaves head i's probabilities in keep[i·T²:] for
// the backward pass; with nil they live in per-goroutine scratch.
func attnForward[T float](g attnGeom, out, qkv, keyMask, keep []T) {
	d, ld := g.d(), 3*g.d()
	parFor(g.B*g.H, func() func(int) {
		s := newAttnScratch[T](g, false)
		return func(i int) {
			b, h := i/g.H, i%g.H
			p := s.p
			if keep != nil {
				p = keep[i*g.T*g.T : (i+1)*g.T*g.T]
			}
			attnProbs(g, p, qkv, keyMask, b, h, s.qb, s.kb)
			v := qkv[b*g.T*ld+2*d+h*g.Dh:]
			o := out[b*g.T*d+h*g.Dh:]
			g.rowBlocks(func(i0, i1, keys int) {
				gemmSerial(false, false, i1-i0, g.Dh, keys, 1, p[i0*g.T:], g.T, v, ld, 0, o[i0*d:], d)
			})
		}
	})
}

// attnBackward writes dqkv (B·T, 3D) given the upstream gradient dout
// (B·T, D). With kept (the forward pass's probabilities, see attnForward)
// it reads P from there; with nil it recomputes P, one extra q·kᵀ and
// softmax per head. Heads run in parallel, as in attnForward.
func attnBackward[T float](g attnGeom, dqkv, qkv, keyMask, dout, kept []T) {
	parFor(g.B*g.H, func() func(int) {
		s := newAttnScratch[T](g, true)
		return func(i int) {
			var p []T
			if kept != nil {
				p = kept[i*g.T*g.T : (i+1)*g.T*g.T]
			}
			attnHeadBackward(g, s, dqkv, qkv, keyMask, dout, i/g.H, i%g.H, p)
		}
	})
}

// attnHeadBackward is attnBackward for head h of sequence b. Under causal
// masking every product skips the blocks where P (and so dS) is zero.
func attnHeadBackward[T float](g attnGeom, s *attnScratch[T], dqkv, qkv, keyMask, dout []T, b, h int, kept []T) {
	d, ld := g.d(), 3*g.d()
	base := b * g.T * ld
	p, dp := s.p, s.dp
	var q, k []T
	var ldq, ldk int
	if kept != nil {
		p = kept
		q, ldq, k, ldk = headQK(g, qkv, b, h, s.qb, s.kb)
	} else {
		q, ldq, k, ldk = attnProbs(g, p, qkv, keyMask, b, h, s.qb, s.kb)
	}
	do := dout[b*g.T*d+h*g.Dh:]
	v := qkv[base+2*d+h*g.Dh:]
	dv := dqkv[base+2*d+h*g.Dh:]
	// dV = Pᵀ·dO over the rows that see each key block; dP = dO·Vᵀ over
	// the keys each row block sees, then dS in place of dP.
	g.keyBlocks(func(j0, j1, first int) {
		gemmSerial(true, false, j1-j0, g.Dh, g.T-first, 1, p[first*g.T+j0:], g.T, do[first*d:], d, 0, dv[j0*ld:], ld)
	})
	g.rowBlocks(func(i0, i1, keys int) {
		gemmSerial(false, true, i1-i0, keys, g.Dh, 1, do[i0*d:], d, v, ld, 0, dp[i0*g.T:], g.T)
		attnScoreGrad(p, dp, g.T, i0, i1, keys, g.Dh)
	})
	dq, ldo, dk := dqkv[base+h*g.Dh:], ld, dqkv[base+d+h*g.Dh:]
	if g.cos != nil {
		dq, ldo, dk = s.dqb, g.Dh, s.dkb
	}
	// dQ = dS·K, dK = dSᵀ·Q, over the same blocks.
	g.rowBlocks(func(i0, i1, keys int) {
		gemmSerial(false, false, i1-i0, g.Dh, keys, 1, dp[i0*g.T:], g.T, k, ldk, 0, dq[i0*ldo:], ldo)
	})
	g.keyBlocks(func(j0, j1, first int) {
		gemmSerial(true, false, j1-j0, g.Dh, g.T-first, 1, dp[first*g.T+j0:], g.T, q[first*ldq:], ldq, 0, dk[j0*ldo:], ldo)
	})
	if g.cos == nil {
		return
	}
	for t := 0; t < g.T; t++ {
		row := base + t*ld + h*g.Dh
		ropeApply(dqkv[row:row+g.Dh], s.dqb[t*g.Dh:(t+1)*g.Dh], g.cos, g.sin, t, true)
		ropeApply(dqkv[row+d:row+d+g.Dh], s.dkb[t*g.Dh:(t+1)*g.Dh], g.cos, g.sin, t, true)
	}
}

// attnScoreGrad turns rows i0..i1 of dP into dS = P ⊙ (dP − rowsum(dP⊙P)),
// folded with the score scale 1/√dh, over the first keys columns (P is
// zero beyond them).
func attnScoreGrad[T float](p, dp []T, n, i0, i1, keys, dh int) {
	scale := 1 / math.Sqrt(float64(dh))
	for i := i0; i < i1; i++ {
		pr, dr := p[i*n:i*n+keys], dp[i*n:i*n+keys]
		var dot float64
		for j := range pr {
			dot += float64(pr[j]) * float64(dr[j])
		}
		for j := range pr {
			dr[j] = T(float64(pr[j]) * (float64(dr[j]) - dot) * scale)
		}
	}
}
