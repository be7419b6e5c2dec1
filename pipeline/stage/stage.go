package stage

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
)

// Stage is one step of a pipeline: it receives from in, sends to out, and
// returns when in is closed and drained (nil) or on failure (the error).
//
// Contract: the stage closes out before returning (the Graph also closes it
// if the stage forgot, so a missing close cannot deadlock a run) and never
// closes in; every send and receive also selects on ctx.Done() (Send and Recv
// do both and count the stage's metrics). A value received from in is owned
// by the stage: it is either sent on (handing the reference over) or released.
// In particular a stage that fails or is canceled while holding an
// arrow.Record must Release it; Send does so itself when it fails.
type Stage[T, U any] func(ctx context.Context, in <-chan T, out chan<- U) error

// Source produces values into out; it closes out before returning, and
// selects on ctx.Done() on every send like a Stage.
type Source[T any] func(ctx context.Context, out chan<- T) error

// Sink consumes in until it is closed; it owns (and must release) every value
// it receives.
type Sink[T any] func(ctx context.Context, in <-chan T) error

// ErrCanceled is returned (wrapped, together with the context's cause) by
// Graph.Run when the run's parent context was canceled before the graph
// finished and no stage failed on its own.
var ErrCanceled = errors.New("pipeline: canceled")

// Error locates a failure: the stage's name and its error. Graph.Run
// returns one for the first stage that failed; errors.As recovers it.
type Error struct {
	Stage string
	Err   error
}

// Error formats as `pipeline: stage "reward": cause`.
func (e *Error) Error() string {
	return fmt.Sprintf("pipeline: stage %q: %v", e.Stage, e.Err)
}

// Unwrap returns the stage's error.
func (e *Error) Unwrap() error { return e.Err }

// PanicError is a panic recovered at a stage boundary. Its
// message carries the panic value and the goroutine's stack.
type PanicError struct {
	Value any
	Stack []byte
}

// Error formats as "panic: value" followed by the stack.
func (e *PanicError) Error() string {
	return fmt.Sprintf("panic: %v\n%s", e.Value, e.Stack)
}

// Unwrap returns the panic value if it was an error (e.g. a runtime error).
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// safeCall runs f and turns a panic into a *PanicError.
func safeCall(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// Releaser is implemented by reference-counted values such as arrow.Record
// and arrow.Array.
type Releaser interface{ Release() }

// Discard drops v: it calls v.Release() if v is a Releaser and does nothing
// otherwise. Stages and the Graph use it for every value they cannot forward.
func Discard[T any](v T) {
	if r, ok := any(v).(Releaser); ok && r != nil {
		r.Release()
	}
}

// sweep discards the values left buffered in ch without blocking; the Graph
// calls it on every edge after all stages have returned.
func sweep[T any](ch chan T) {
	for {
		select {
		case v, ok := <-ch:
			if !ok {
				return
			}
			Discard(v)
		default:
			return
		}
	}
}

// closeQuietly closes ch unless it is already closed.
func closeQuietly[T any](ch chan T) {
	defer func() { _ = recover() }()
	close(ch)
}

// Send sends v on out unless ctx is done first. It hands v's reference to
// the receiver; on failure (ctx's error is returned) it discards v, so the
// caller never keeps ownership. Inside a Graph stage it counts an output
// item and the time spent blocked.
func Send[T any](ctx context.Context, out chan<- T, v T) error {
	select {
	case <-ctx.Done():
		Discard(v)
		return ctx.Err()
	default:
	}
	m := meterFrom(ctx)
	select {
	case out <- v:
	default:
		// Not ready at once: count the time blocked until it is.
		if m != nil {
			m.blockBegin(true)
			defer m.blockEnd(true)
		}
		select {
		case out <- v:
		case <-ctx.Done():
			Discard(v)
			return ctx.Err()
		}
	}
	if m != nil {
		m.out.Add(1)
	}
	return nil
}

// Recv receives from in unless ctx is done first. It returns ok == false
// once in is closed and drained, and ctx's error if ctx is done. Inside a
// Graph stage it counts an input item and the time spent blocked.
func Recv[T any](ctx context.Context, in <-chan T) (v T, ok bool, err error) {
	m := meterFrom(ctx)
	select {
	case v, ok = <-in:
	case <-ctx.Done():
		return v, false, ctx.Err()
	default:
		// Not ready at once: count the time blocked until it is.
		if m != nil {
			m.blockBegin(false)
			defer m.blockEnd(false)
		}
		select {
		case v, ok = <-in:
		case <-ctx.Done():
			return v, false, ctx.Err()
		}
	}
	if ok && m != nil {
		m.in.Add(1)
	}
	return v, ok, nil
}
