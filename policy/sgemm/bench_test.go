package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShape is one product C(m×n) = op(A)·op(B) with inner dimension k.
type benchShape struct {
	name    string
	m, n, k int
	tA, tB  bool
}

// benchShapes are n=512 and the default policy's real shapes (d 128,
// d_ff 512, vocab 264, B·T 2048 in training, 128 streams in decoding,
// per-head attention with T 128 and head size 32), with the transposes
// gorgonia's backward pass and policy's attention kernels use.
var benchShapes = []benchShape{
	{"square/n=512", 512, 512, 512, false, false},
	{"mlp-fwd/2048x512x128", 2048, 512, 128, false, false},
	{"mlp-dX/2048x128x512/NT", 2048, 128, 512, false, true},
	{"mlp-dW/128x512x2048/TN", 128, 512, 2048, true, false},
	{"qkv/128x384x128", 128, 384, 128, false, false},
	{"qkv/128x384x128/NT", 128, 384, 128, false, true},
	{"qkv/128x384x128/TN", 128, 384, 128, true, false},
	{"qkv/128x384x128/TT", 128, 384, 128, true, true},
	{"decode/128x264x128", 128, 264, 128, false, false},
	{"decode/128x264x128/NT", 128, 264, 128, false, true},
	{"decode/128x264x128/TN", 128, 264, 128, true, false},
	{"decode/128x264x128/TT", 128, 264, 128, true, true},
	{"attn-scores/128x128x32/NT", 128, 128, 32, false, true},
	{"attn-pv/128x32x128", 128, 32, 128, false, false},
	{"attn-dp/128x32x128/TN", 128, 32, 128, true, false},
}

// benchImpls are the implementations compared; bench_openblas_test.go adds
// OpenBLAS under the openblas tag.
var benchImpls = []struct {
	name string
	impl blas.Float32Level3
}{
	{"rlpipe", Implementation{}},
	{"gonum", gonum.Implementation{}},
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k per product) of every
// implementation on every shape; compare runs with benchstat.
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		for _, im := range benchImpls {
			b.Run(fmt.Sprintf("%s/%s", s.name, im.name), func(b *testing.B) { benchOne(b, im.impl, s) })
		}
	}
}

func benchOne(b *testing.B, impl blas.Float32Level3, s benchShape) {
	rng := rand.New(rand.NewPCG(1, 1))
	a, bb, c := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n), make([]float32, s.m*s.n)
	lda, ldb := s.k, s.n
	if s.tA {
		lda = s.m
	}
	if s.tB {
		ldb = s.k
	}
	cpu0 := cpuTime()
	for b.Loop() {
		impl.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
	}
	flops := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
	b.ReportMetric(flops/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	// Per CPU-second: comparable across implementations on a busy machine
	// (an OpenBLAS thread spinning while waiting counts against it too).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(flops/cpu.Seconds()/1e9, "GFLOP/cpu-s")
	}
}
