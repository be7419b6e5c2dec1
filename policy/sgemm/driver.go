package sgemm

import (
	"runtime"
	"sync"
)

// microKernel computes one mr×nr tile of C from a kb×nr packed sliver of
// B ([p][c]) and mr×kb values of op(A): acc = Σ_p op(A)[:,p]·B[p,:] in
// ascending p with fused multiply-adds, then C = acc if beta is ±0 (C not
// read), else C = acc + beta·C. ldc is C's row stride in elements. How A
// is addressed (lda, in elements) depends on the kernel kind:
//   - fn: step p is the mr values at a + p·lda — a packed sliver (lda = mr)
//     or op(A) = Aᵀ read in place (lda = A's stride);
//   - rows: row r is the k values at a + r·lda — op(A) = A read in place.
//
// Reading A in place saves the packing copy, which for the few columns of
// C typical here is a large share of the work.
type microKernel func(k int, a *float32, lda int, b, c *float32, ldc int, beta float32)

// kernel is a pair of micro-kernels (k-step slivers of A for op(A) = Aᵀ,
// rows of A for op(A) = A) with their tile shape.
type kernel struct {
	name   string
	mr, nr int
	fn     microKernel
	rows   microKernel
}

// Block sizes. kc bounds the k-extent of packed panels so that one B
// sliver (kc×nr) stays in L1 while an A block (mcTiles·mr × kc) sits in
// L2; ncMax bounds the packed B block (kc×nc) for L3. Changing kc changes
// the summation grouping (and so the rounding), never thread count.
const (
	kc      = 256
	mcTiles = 12
	ncMax   = 2048
)

// parallelMin is the m·n·k above which the product is split across
// goroutines; below it the goroutine hand-off costs more than it saves.
const parallelMin = 1 << 18

// problem is one validated Sgemm call.
type problem struct {
	aT, bT  bool
	m, n, k int
	alpha   float32
	a       []float32
	lda     int
	b       []float32
	ldb     int
	beta    float32
	c       []float32
	ldc     int
	packed  *PackedB // B already packed (then b is unused, never transposed)
}

// scratch holds one goroutine's packing buffers.
type scratch struct {
	a, b, tile []float32
}

var scratchPool sync.Pool

// getScratch returns buffers big enough for kernel kn on p, sized to the
// problem (not the block maxima) so that small products stay small.
func (kn *kernel) getScratch(p *problem) *scratch {
	kb := min(kc, p.k)
	na := min(mcTiles, ceilDiv(p.m, kn.mr)) * kn.mr * kb
	nb := min(ncMax/kn.nr, ceilDiv(p.n, kn.nr)) * kn.nr * kb
	if p.packed != nil {
		nb = 0
	}
	s, _ := scratchPool.Get().(*scratch)
	if s == nil {
		s = new(scratch)
	}
	if len(s.a) < na {
		s.a = make([]float32, na)
	}
	if len(s.b) < nb {
		s.b = make([]float32, nb)
	}
	if len(s.tile) < kn.mr*kn.nr {
		s.tile = make([]float32, kn.mr*kn.nr)
	}
	return s
}

// gemm runs p, splitting C into contiguous ranges of whole tiles, one per
// goroutine, when p is large enough. Tile boundaries do not depend on the
// split, so neither does any element's value.
func (kn *kernel) gemm(p *problem) {
	w := runtime.GOMAXPROCS(0)
	if p.m*p.n*p.k < parallelMin || w < 2 {
		kn.serial(p)
		return
	}
	// By value: only the parallel path moves the problem to the heap, so
	// serial calls allocate nothing in steady state.
	kn.parallel(*p, w)
}

// serial runs p on the calling goroutine.
func (kn *kernel) serial(p *problem) {
	s := kn.getScratch(p)
	kn.block(p, 0, p.m, 0, p.n, s)
	scratchPool.Put(s)
}

// parallel runs p on w goroutines (the caller's included).
func (kn *kernel) parallel(pv problem, w int) {
	p := &pv
	tm, tn := ceilDiv(p.m, kn.mr), ceilDiv(p.n, kn.nr)
	// Split the dimension whose largest share is smallest; on ties split
	// rows, so each goroutine packs its own rows of A and all of B.
	splitM := ceilDiv(tm, min(w, tm))*tn <= ceilDiv(tn, min(w, tn))*tm
	tiles, size := tn, kn.nr
	if splitM {
		tiles, size = tm, kn.mr
	}
	w = min(w, tiles)
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		lo, hi := i*tiles/w*size, (i+1)*tiles/w*size
		run := func() {
			s := kn.getScratch(p)
			if splitM {
				kn.block(p, lo, min(hi, p.m), 0, p.n, s)
			} else {
				kn.block(p, 0, p.m, lo, min(hi, p.n), s)
			}
			scratchPool.Put(s)
		}
		if i == w-1 {
			run()
			break
		}
		wg.Add(1)
		go func() { defer wg.Done(); run() }()
	}
	wg.Wait()
}

// block computes rows i0:i1 and columns j0:j1 of C (i0 a multiple of mr,
// j0 of nr) with the packed loop nest jc → pc → ic → jr → ir. With B
// already packed, j0 must be 0 (the panels are laid out from column 0).
func (kn *kernel) block(p *problem, i0, i1, j0, j1 int, s *scratch) {
	mr, nr := kn.mr, kn.nr
	mc, nc := mcTiles*mr, ncMax/nr*nr
	for jc := j0; jc < j1; jc += nc {
		nb := min(nc, j1-jc)
		for pc := 0; pc < p.k; pc += kc {
			kb := min(kc, p.k-pc)
			bpanel := s.b
			if p.packed != nil {
				bpanel = p.packed.buf[packedOffset(kn, p.k, jc, pc, nb):]
			} else {
				packB(bpanel, p, pc, kb, jc, nb, nr)
			}
			beta := p.beta
			if pc > 0 {
				beta = 1
			}
			// A is read in place unless it needs scaling; the packed copy
			// then holds just a partial last sliver.
			direct := p.alpha == 1
			for ic := i0; ic < i1; ic += mc {
				mb := min(mc, i1-ic)
				if p.aT {
					packA(s.a, p, ic, mb, pc, kb, mr, direct)
				} else {
					packARows(s.a, p, ic, mb, pc, kb, mr, direct)
				}
				for jr := 0; jr < nb; jr += nr {
					bp := &bpanel[jr*kb]
					cols := min(nr, nb-jr)
					for ir := 0; ir < mb; ir += mr {
						t := tileArgs{kb: kb, a: &s.a[ir*kb], lda: kb, b: bp, beta: beta}
						if p.aT {
							t.lda = mr
						}
						rows := min(mr, mb-ir)
						switch {
						case direct && rows == mr && p.aT:
							t.a, t.lda = &p.a[pc*p.lda+ic+ir], p.lda
						case direct && rows == mr:
							t.a, t.lda = &p.a[(ic+ir)*p.lda+pc], p.lda
						}
						ci := (ic+ir)*p.ldc + jc + jr
						if rows == mr && cols == nr {
							kn.run(&t, p.aT, &p.c[ci], p.ldc)
							continue
						}
						kn.edge(&t, p.aT, p.c[ci:], p.ldc, rows, cols, s.tile)
					}
				}
			}
		}
	}
}

// tileArgs are the operands of one micro-kernel call but C.
type tileArgs struct {
	kb   int
	a    *float32 // first value of A's sliver, see microKernel
	lda  int
	b    *float32 // packed kb×nr sliver
	beta float32
}

// run computes one full tile at c.
func (kn *kernel) run(t *tileArgs, aT bool, c *float32, ldc int) {
	if aT {
		kn.fn(t.kb, t.a, t.lda, t.b, c, ldc, t.beta)
		return
	}
	kn.rows(t.kb, t.a, t.lda, t.b, c, ldc, t.beta)
}

// edge computes a partial rows×cols tile through a full-size scratch tile,
// with the same kernel and so the same arithmetic as a full tile.
func (kn *kernel) edge(t *tileArgs, aT bool, c []float32, ldc, rows, cols int, tile []float32) {
	nr := kn.nr
	if t.beta != 0 {
		for r := 0; r < rows; r++ {
			copy(tile[r*nr:r*nr+cols], c[r*ldc:r*ldc+cols])
		}
	}
	kn.run(t, aT, &tile[0], nr)
	for r := 0; r < rows; r++ {
		copy(c[r*ldc:r*ldc+cols], tile[r*nr:r*nr+cols])
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }
