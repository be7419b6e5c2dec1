package policy

import (
	"fmt"
	"sync"
	"testing"
)

// BenchmarkDecodeShapes times the matrix products of one decode step of the
// default model at several batch sizes (rows), serially and two at once.
func BenchmarkDecodeShapes(b *testing.B) {
	shapes := [][2]int{{128, 384}, {128, 128}, {128, 512}, {512, 128}, {128, 264}}
	for _, r := range []int{64, 128} {
		for _, par := range []int{1, 2} {
			b.Run(fmt.Sprintf("rows=%d/par=%d", r, par), func(b *testing.B) {
				type op struct {
					a, w, c []float32
					k, n    int
				}
				var ops [][]op
				for range par {
					var o []op
					for _, s := range shapes {
						k, n := s[0], s[1]
						a, w := make([]float32, r*k), make([]float32, k*n)
						for i := range a {
							a[i] = float32(i%7) * 0.1
						}
						for i := range w {
							w[i] = float32(i%5) * 0.1
						}
						o = append(o, op{a, w, make([]float32, r*n), k, n})
					}
					ops = append(ops, o)
				}
				flops := 0.0
				for _, s := range shapes {
					flops += 2 * float64(r*s[0]*s[1])
				}
				for b.Loop() {
					var wg sync.WaitGroup
					for p := range par {
						wg.Add(1)
						go func() {
							defer wg.Done()
							for _, o := range ops[p] {
								gemm(false, false, r, o.n, o.k, 1, o.a, o.k, o.w, o.n, 0, o.c, o.n)
							}
						}()
					}
					wg.Wait()
				}
				b.ReportMetric(float64(par)*flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
