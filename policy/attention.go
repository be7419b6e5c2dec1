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

// attnProbs computes P = softmax(q·kᵀ/√Dh) (masked, see maskedSoftmax) for
// head h of sequence b into p (T×T) and returns the head's q and k (see
// headQK). It runs on one goroutine (one head per goroutine, see parFor).
func attnProbs[T float](g attnGeom, p, qkv, keyMask []T, b, h int, qb, kb []T) (q []T, ldq int, k []T, ldk int) {
	q, ldq, k, ldk = headQK(g, qkv, b, h, qb, kb)
	scale := T(1 / math.Sqrt(float64(g.Dh)))
	gemmSerial(false, true, g.T, g.T, g.Dh, scale, q, ldq, k, ldk, 0, p, g.T)
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
func attnForward[T float](g attnGeom, out, qkv, keyMask []T) {
	d, ld := g.d(), 3*g.d()
	parFor(g.B*g.H, func() func(int) {
		s := newAttnScratch[T](g, false)
		return func(i int) {
			b, h := i/g.H, i%g.H
			attnProbs(g, s.p, qkv, keyMask, b, h, s.qb, s.kb)
			v := qkv[b*g.T*ld+2*d+h*g.Dh:]
			gemmSerial(false, false, g.T, g.Dh, g.T, 1, s.p, g.T, v, ld, 0, out[b*g.T*d+h*g.Dh:], d)
		}
	})
}

// attnBackward writes dqkv (B·T, 3D) given the upstream gradient dout
// (B·T, D). It recomputes the probabilities instead of storing them, which
// keeps the op pure at the price of one extra q·kᵀ per head. Heads run in
// parallel, as in attnForward.
func attnBackward[T float](g attnGeom, dqkv, qkv, keyMask, dout []T) {
	parFor(g.B*g.H, func() func(int) {
		s := newAttnScratch[T](g, true)
		return func(i int) { attnHeadBackward(g, s, dqkv, qkv, keyMask, dout, i/g.H, i%g.H) }
	})
}

// attnHeadBackward is attnBackward for head h of sequence b.
func attnHeadBackward[T float](g attnGeom, s *attnScratch[T], dqkv, qkv, keyMask, dout []T, b, h int) {
	d, ld := g.d(), 3*g.d()
	scale := 1 / math.Sqrt(float64(g.Dh))
	base := b * g.T * ld
	p, dp := s.p, s.dp
	q, ldq, k, ldk := attnProbs(g, p, qkv, keyMask, b, h, s.qb, s.kb)
	do := dout[b*g.T*d+h*g.Dh:]
	v := qkv[base+2*d+h*g.Dh:]
	// dV = Pᵀ·dO; dP = dO·Vᵀ.
	gemmSerial(true, false, g.T, g.Dh, g.T, 1, p, g.T, do, d, 0, dqkv[base+2*d+h*g.Dh:], ld)
	gemmSerial(false, true, g.T, g.T, g.Dh, 1, do, d, v, ld, 0, dp, g.T)
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
	if g.cos == nil {
		gemmSerial(false, false, g.T, g.Dh, g.T, 1, dp, g.T, k, ldk, 0, dqkv[base+h*g.Dh:], ld)
		gemmSerial(true, false, g.T, g.Dh, g.T, 1, dp, g.T, q, ldq, 0, dqkv[base+d+h*g.Dh:], ld)
		return
	}
	gemmSerial(false, false, g.T, g.Dh, g.T, 1, dp, g.T, k, ldk, 0, s.dqb, g.Dh)
	gemmSerial(true, false, g.T, g.Dh, g.T, 1, dp, g.T, q, ldq, 0, s.dkb, g.Dh)
	for t := 0; t < g.T; t++ {
		row := base + t*ld + h*g.Dh
		ropeApply(dqkv[row:row+g.Dh], s.dqb[t*g.Dh:(t+1)*g.Dh], g.cos, g.sin, t, true)
		ropeApply(dqkv[row+d:row+d+g.Dh], s.dkb[t*g.Dh:(t+1)*g.Dh], g.cos, g.sin, t, true)
	}
}
