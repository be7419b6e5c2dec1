package policy

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// parFor runs job(i) for every i in [0, n) on up to GOMAXPROCS goroutines
// (the caller's included) that pull indices in turn. Each goroutine gets
// its own job function from newWorker, so it can own scratch buffers.
//
// Results do not depend on the number of goroutines as long as job i
// writes only its own outputs and computes them from i alone: which
// goroutine runs a job changes nothing but the timing. That is how the
// training kernels stay bit-identical across GOMAXPROCS (see issue 18).
func parFor(n int, newWorker func() func(i int)) {
	w := min(runtime.GOMAXPROCS(0), n)
	if w <= 1 {
		job := newWorker()
		for i := 0; i < n; i++ {
			job(i)
		}
		return
	}
	var next atomic.Int64
	run := func() {
		job := newWorker()
		for {
			i := int(next.Add(1) - 1)
			if i >= n {
				return
			}
			job(i)
		}
	}
	var wg sync.WaitGroup
	wg.Add(w - 1)
	for range w - 1 {
		go func() { defer wg.Done(); run() }()
	}
	run()
	wg.Wait()
}

// parRows runs f over rows [0, rows) in fixed blocks of grain rows (the
// last may be shorter), in parallel through parFor. Block boundaries depend
// only on rows and grain, so per-row kernels give the same result for any
// number of goroutines.
func parRows(rows, grain int, f func(lo, hi int)) {
	blocks := (rows + grain - 1) / grain
	parFor(blocks, func() func(int) {
		return func(i int) { f(i*grain, min(rows, (i+1)*grain)) }
	})
}

// rowGrain is the block of rows the element-wise training kernels hand to
// one goroutine: large enough that the hand-off is noise, small enough
// that two cores share a 2048-row batch evenly.
const rowGrain = 64

// gemmSerial is gemm on the calling goroutine, for products that already
// run one per goroutine (attention heads): a nested goroutine split would
// only add hand-offs. float64 (gradient checks) goes through gemm.
func gemmSerial[T float](tA, tB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	a32, ok := any(a).([]float32)
	if !ok || m == 0 || n == 0 {
		gemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	ta, tb := blasTrans(tA), blasTrans(tB)
	serialSgemm().Sgemm(ta, tb, m, n, k, float32(alpha), a32, lda,
		any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
}

// Kernels that write every element of their output (see fullWriter).
func (biasActOp) fullWrite()        {}
func (biasActGradOp) fullWrite()    {}
func (layerNormOp) fullWrite()      {}
func (layerNormGradXOp) fullWrite() {}
func (attentionOp) fullWrite()      {}
func (attentionGradOp) fullWrite()  {}
func (logProbOp) fullWrite()        {}
func (logProbGradOp) fullWrite()    {}
