package pipeline

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// PoolConfig configures Ordered. The zero value is one worker, a window of
// two items and failing on the first error.
type PoolConfig struct {
	// Workers is the number of goroutines calling the item function
	// (default 1).
	Workers int
	// Window bounds the items in flight: received from the input but not
	// yet forwarded, including those waiting in the reorder buffer behind a
	// slow item (default 2 × Workers). It is the stage's memory bound.
	Window int
	// OnError decides what a failed item does. nil fails the stage on the
	// first error (in input order). Otherwise it is called in input order
	// with the item's sequence number (0-based) and error: returning nil
	// drops the item and counts it in StageStats.Dropped, returning an
	// error fails the stage with it. Panics always fail the stage.
	OnError func(seq int64, err error) error
}

// DropFailed is an OnError policy that drops every failed item (each one is
// counted in StageStats.Dropped), e.g. for "a lost rollout is dropped".
func DropFailed(int64, error) error { return nil }

func (c PoolConfig) withDefaults() PoolConfig {
	if c.Workers < 0 || c.Window < 0 {
		panic(fmt.Sprintf("pipeline: negative PoolConfig %+v", c))
	}
	if c.Workers == 0 {
		c.Workers = 1
	}
	if c.Window == 0 {
		c.Window = 2 * c.Workers
	}
	return c
}

type job[T any] struct {
	seq  int64
	item T
}

type result[U any] struct {
	seq int64
	val U
	err error
}

// Ordered returns a Stage that applies fn to every input item on
// cfg.Workers goroutines and sends the results in input order (by sequence
// number through a reorder buffer of cfg.Window slots, never by completion
// time), so its output does not depend on the worker count.
//
// Ownership: fn owns its input item whether it succeeds or fails; its result
// is handed downstream. Results that cannot be forwarded because the run was
// canceled or the stage failed are discarded (released when they are
// Releasers). fn must return promptly once ctx is done. Panics in fn are
// recovered into a *PanicError and fail the stage. It panics if cfg has a
// negative field.
func Ordered[T, U any](fn func(ctx context.Context, item T) (U, error), cfg PoolConfig) Stage[T, U] {
	cfg = cfg.withDefaults()
	return func(ctx context.Context, in <-chan T, out chan<- U) error {
		defer close(out)
		m := meterFrom(ctx)
		if m != nil {
			m.workers.Store(int64(cfg.Workers))
		}
		ictx, cancel := context.WithCancel(ctx)
		defer cancel()
		slots := make(chan struct{}, cfg.Window)
		jobs := make(chan job[T])
		results := make(chan result[U], cfg.Window)
		var wg sync.WaitGroup
		wg.Add(1 + cfg.Workers)
		go func() {
			defer wg.Done()
			dispatch(ictx, in, jobs, slots)
		}()
		for range cfg.Workers {
			go func() {
				defer wg.Done()
				work(ictx, fn, jobs, results, m)
			}()
		}
		go func() {
			wg.Wait()
			close(results)
		}()
		err := emit(ictx, cancel, cfg, out, results, slots, m)
		if err == nil {
			err = ctx.Err()
		}
		return err
	}
}

// dispatch numbers the input items and hands them to the workers, taking a
// window slot before each receive so that it never holds an item while the
// window is full.
func dispatch[T any](ctx context.Context, in <-chan T, jobs chan<- job[T], slots chan<- struct{}) {
	defer close(jobs)
	for seq := int64(0); ; seq++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		v, ok, err := Recv(ctx, in)
		if err != nil || !ok {
			return
		}
		select {
		case jobs <- job[T]{seq, v}:
		case <-ctx.Done():
			Discard(v)
			return
		}
	}
}

// work runs fn on jobs until they are closed. Sending a result never
// blocks: results has Window slots and at most Window items are in flight.
func work[T, U any](ctx context.Context, fn func(context.Context, T) (U, error), jobs <-chan job[T], results chan<- result[U], m *meter) {
	for j := range jobs {
		t0 := time.Now()
		var u U
		err := safeCall(func() error {
			var e error
			u, e = fn(ctx, j.item)
			return e
		})
		if m != nil {
			m.addBusy(time.Since(t0))
		}
		results <- result[U]{j.seq, u, err}
	}
}

// emit reorders results and forwards them in sequence order. After a
// failure or cancellation it keeps receiving until results is closed (all
// workers done), discarding everything, so that no goroutine is left behind.
func emit[U any](ctx context.Context, cancel context.CancelFunc, cfg PoolConfig, out chan<- U, results <-chan result[U], slots <-chan struct{}, m *meter) error {
	w := int64(cfg.Window)
	buf := make([]result[U], w)
	have := make([]bool, w)
	next := int64(0)
	var failure error
	for res := range results {
		if failure != nil || ctx.Err() != nil {
			Discard(res.val)
			continue
		}
		buf[res.seq%w], have[res.seq%w] = res, true
		for have[next%w] {
			r := buf[next%w]
			buf[next%w], have[next%w] = result[U]{}, false
			if err := forward(ctx, cfg, out, r, m); err != nil {
				failure = err
				cancel()
				break
			}
			<-slots
			next++
		}
	}
	for i := range buf {
		if have[i] {
			Discard(buf[i].val)
		}
	}
	return failure
}

// forward sends one in-order result, or applies the error policy to it.
func forward[U any](ctx context.Context, cfg PoolConfig, out chan<- U, r result[U], m *meter) error {
	if r.err == nil {
		return Send(ctx, out, r.val)
	}
	Discard(r.val)
	var pe *PanicError
	if cfg.OnError == nil || errors.As(r.err, &pe) {
		return fmt.Errorf("item %d: %w", r.seq, r.err)
	}
	if err := cfg.OnError(r.seq, r.err); err != nil {
		return fmt.Errorf("item %d: %w", r.seq, err)
	}
	if m != nil {
		m.dropped.Add(1)
	}
	return nil
}
