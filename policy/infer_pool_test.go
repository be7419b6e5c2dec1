package policy

import (
	"sync/atomic"
	"testing"
)

func TestPoolRunsEveryPartOnce(t *testing.T) {
	for _, parts := range []int{1, 2, 3, 8} {
		p := newPool(parts)
		var hits [8]atomic.Int32
		f := func(part, n int) { hits[part].Add(1) }
		for _, small := range []bool{false, true} {
			p.run(f, small)
		}
		for w := range p.parts {
			if got := hits[w].Load(); got != 2 {
				t.Errorf("parts=%d: part %d ran %d times, want 2", parts, w, got)
			}
		}
		p.close()
	}
}

// BenchmarkPoolRun measures one fork-join of the pool (a decode step has
// about 18, plus sgemm's own).
func BenchmarkPoolRun(b *testing.B) {
	p := newPool(2)
	defer p.close()
	f := func(part, n int) {}
	for b.Loop() {
		p.run(f, false)
	}
}
