package policy

import (
	"runtime"
	"sync"
)

// pool runs one function on disjoint parts of a batch on a fixed set of
// goroutines, started once per Generate chunk: forking goroutines per phase
// would allocate a closure each time, and a decode step has a dozen phases.
// Callers pass functions bound once (method values stored in a field), so
// a run allocates nothing.
type pool struct {
	parts int
	jobs  []chan func(part, parts int)
	wg    sync.WaitGroup
}

// newPool starts GOMAXPROCS−1 helpers (capped at maxParts−1); with one
// part, run calls f inline.
func newPool(maxParts int) *pool {
	p := &pool{parts: max(1, min(runtime.GOMAXPROCS(0), maxParts))}
	for w := 1; w < p.parts; w++ {
		ch := make(chan func(part, parts int), 1)
		p.jobs = append(p.jobs, ch)
		go func() {
			for f := range ch {
				f(w, p.parts)
				p.wg.Done()
			}
		}()
	}
	return p
}

// run calls f(part, parts) for every part, part 0 on the calling
// goroutine, and returns when all are done. With small set, every part
// runs on the caller (f must give the same results either way).
func (p *pool) run(f func(part, parts int), small bool) {
	if small || p.parts == 1 {
		for w := range p.parts {
			f(w, p.parts)
		}
		return
	}
	p.wg.Add(len(p.jobs))
	for _, ch := range p.jobs {
		ch <- f
	}
	f(0, p.parts)
	p.wg.Wait()
}

// close stops the helpers.
func (p *pool) close() {
	for _, ch := range p.jobs {
		close(ch)
	}
}

// span returns part's share [lo, hi) of n items split into parts.
func span(n, part, parts int) (lo, hi int) {
	return part * n / parts, (part + 1) * n / parts
}
