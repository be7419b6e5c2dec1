package stage

import "context"

// Sources, sinks and a map stage for the tests, written as a user of the
// Graph would write them.

// fromSlice returns a Source sending items in order, then closing its output.
// It takes ownership of every item: each is handed downstream, or discarded
// (released if a Releaser) when the run stops before it was sent.
func fromSlice[T any](items []T) Source[T] {
	return func(ctx context.Context, out chan<- T) error {
		defer close(out)
		for i := range items {
			if err := Send(ctx, out, items[i]); err != nil {
				for _, v := range items[i+1:] {
					Discard(v)
				}
				return err
			}
		}
		return nil
	}
}

// fromFunc returns a Source that calls next until it reports ok == false or
// an error, sending every value it yields. next is called from one goroutine.
func fromFunc[T any](next func(ctx context.Context) (v T, ok bool, err error)) Source[T] {
	return func(ctx context.Context, out chan<- T) error {
		defer close(out)
		for {
			v, ok, err := next(ctx)
			if err != nil || !ok {
				return err
			}
			if err := Send(ctx, out, v); err != nil {
				return err
			}
		}
	}
}

// collect returns a Sink appending every received value to *dst, in order.
// The caller owns the collected values (including after a failed run, when
// *dst holds what arrived before the failure) and reads *dst only after
// Graph.Run has returned.
func collect[T any](dst *[]T) Sink[T] {
	return func(ctx context.Context, in <-chan T) error {
		for {
			v, ok, err := Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			*dst = append(*dst, v)
		}
	}
}

// forEach returns a Sink calling fn on every value in order. fn owns the
// value (it releases records); an error from fn ends the stage with it.
func forEach[T any](fn func(ctx context.Context, v T) error) Sink[T] {
	return func(ctx context.Context, in <-chan T) error {
		for {
			v, ok, err := Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			if err := fn(ctx, v); err != nil {
				return err
			}
		}
	}
}

// mapItems returns a Stage applying fn to every item in order with one goroutine
// . fn owns its input: it releases it or
// returns it inside its result; its result is sent on, or discarded if the
// send fails. The first error from fn ends the stage with that error.
func mapItems[T, U any](fn func(ctx context.Context, item T) (U, error)) Stage[T, U] {
	return func(ctx context.Context, in <-chan T, out chan<- U) error {
		defer close(out)
		for {
			v, ok, err := Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			u, err := fn(ctx, v)
			if err != nil {
				return err
			}
			if err := Send(ctx, out, u); err != nil {
				return err
			}
		}
	}
}
