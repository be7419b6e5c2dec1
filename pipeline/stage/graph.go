package stage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/sourcegraph/conc/pool"
)

// DefaultCapacity is the buffer size of the channel between two stages when
// WithCapacity is not given.
const DefaultCapacity = 1

// GraphOption configures a Graph.
type GraphOption func(*Graph)

// WithCapacity sets the buffer size of every channel the Graph creates
// between stages (default DefaultCapacity; 0 makes them unbuffered). Larger
// buffers smooth jitter at the cost of more items in flight.
// It panics if n < 0.
func WithCapacity(n int) GraphOption {
	if n < 0 {
		panic(fmt.Sprintf("stage: negative channel capacity %d", n))
	}
	return func(g *Graph) { g.capacity = n }
}

// Graph is a set of named stages connected by bounded channels. Build it
// with AddSource, AddStage, AddSink, AddFunc, Inlet and Outlet, then call Run
// once. Building is not safe for concurrent use; Stats is, at any time.
type Graph struct {
	capacity int

	mu      sync.Mutex
	nodes   []*node
	names   map[string]bool
	edges   []edge
	started bool
}

// NewGraph returns an empty graph.
func NewGraph(opts ...GraphOption) *Graph {
	g := &Graph{capacity: DefaultCapacity, names: map[string]bool{}}
	for _, o := range opts {
		o(g)
	}
	return g
}

// Port is the output of a stage (or an inlet) waiting to be consumed by
// exactly one other stage or outlet.
type Port[T any] struct{ e *port[T] }

type port[T any] struct {
	from     string
	ch       chan T   // nil for inlets
	recv     <-chan T // what the consumer reads
	consumed bool
}

// edge is the type-erased view of a port the Graph needs.
type edge interface {
	source() string
	isConsumed() bool
	sweep()
}

func (p *port[T]) source() string   { return p.from }
func (p *port[T]) isConsumed() bool { return p.consumed }
func (p *port[T]) sweep() {
	if p.ch != nil {
		sweep(p.ch)
	}
}

type node struct {
	name     string
	m        *meter
	run      func(ctx context.Context) error
	closeOut func()
	checkIn  func(ctx context.Context) error // nil for sources
}

// add registers a node; it panics on an empty or duplicate name or after Run.
func (g *Graph) add(name string, run func(context.Context) error, closeOut func(), checkIn func(context.Context) error) *node {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.started {
		panic("stage: stage added after Graph.Run")
	}
	if name == "" || g.names[name] {
		panic(fmt.Sprintf("stage: stage name %q empty or already used", name))
	}
	g.names[name] = true
	n := &node{name: name, m: newMeter(name), run: run, closeOut: closeOut, checkIn: checkIn}
	g.nodes = append(g.nodes, n)
	return n
}

func newPort[T any](g *Graph, from string) *port[T] {
	ch := make(chan T, g.capacity)
	p := &port[T]{from: from, ch: ch, recv: ch}
	g.mu.Lock()
	g.edges = append(g.edges, p)
	g.mu.Unlock()
	return p
}

// consume marks in as used; it panics if it already was (a port has one
// consumer: fan-out is a stage of its own, which must Retain records).
func consume[T any](in Port[T], by string) <-chan T {
	if in.e == nil {
		panic(fmt.Sprintf("stage: stage %q reads a zero Port", by))
	}
	if in.e.consumed {
		panic(fmt.Sprintf("stage: output of %q consumed twice (by %q)", in.e.from, by))
	}
	in.e.consumed = true
	return in.e.recv
}

// AddSource adds a stage with no input and returns its output port.
func AddSource[T any](g *Graph, name string, src Source[T]) Port[T] {
	p := newPort[T](g, name)
	g.add(name, func(ctx context.Context) error { return src(ctx, p.ch) },
		func() { closeQuietly(p.ch) }, nil)
	return Port[T]{p}
}

// AddStage adds s reading from in and returns its output port.
func AddStage[T, U any](g *Graph, name string, in Port[T], s Stage[T, U]) Port[U] {
	src := consume(in, name)
	p := newPort[U](g, name)
	g.add(name, func(ctx context.Context) error { return s(ctx, src, p.ch) },
		func() { closeQuietly(p.ch) }, inputClosed(src))
	return Port[U]{p}
}

// AddSink adds a terminal stage reading from in.
func AddSink[T any](g *Graph, name string, in Port[T], s Sink[T]) {
	src := consume(in, name)
	g.add(name, func(ctx context.Context) error { return s(ctx, src) }, func() {}, inputClosed(src))
}

// AddFunc adds an arbitrary goroutine under the Graph's error handling and
// metrics (for stages with several inputs or outputs wired with Inlet and
// Outlet, or side loops such as pushing weights). f must return when ctx is
// done and must close any channel it writes to.
func AddFunc(g *Graph, name string, f func(ctx context.Context) error) {
	g.add(name, f, func() {}, nil)
}

// Inlet turns a channel fed from outside the Graph into a port. The Graph
// neither closes nor drains ch; its producer owns it.
func Inlet[T any](g *Graph, name string, ch <-chan T) Port[T] {
	p := &port[T]{from: name, recv: ch}
	g.mu.Lock()
	g.edges = append(g.edges, p)
	g.mu.Unlock()
	return Port[T]{p}
}

// Outlet hands the channel behind in to a consumer outside the Graph (e.g.
// a stage added with AddFunc). The consumer must keep receiving until the
// channel is closed or the run's context is done; values left buffered when
// Run returns are discarded by the Graph.
func Outlet[T any](in Port[T]) <-chan T {
	return consume(in, "outlet")
}

// Run runs every stage concurrently in a conc context pool that cancels all
// stages on the first error and returns that error as a *Error naming
// the stage (panics become a *PanicError inside it). After all stages have
// returned, values still buffered between stages are discarded (released if
// they are Releasers). If the parent ctx was canceled and the first error is
// a context error, Run returns an error wrapping ErrCanceled and the cause.
// Run may be called once; it panics on a second call.
func (g *Graph) Run(ctx context.Context) error {
	g.mu.Lock()
	if g.started {
		g.mu.Unlock()
		panic("stage: Graph.Run called twice")
	}
	g.started = true
	nodes, edges := g.nodes, g.edges
	g.mu.Unlock()
	for _, e := range edges {
		if !e.isConsumed() {
			return fmt.Errorf("pipeline: output of stage %q is not consumed", e.source())
		}
	}
	p := pool.New().WithContext(ctx).WithCancelOnError().WithFirstError()
	for _, n := range nodes {
		p.Go(n.exec)
	}
	err := p.Wait()
	for _, e := range edges {
		e.sweep()
	}
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return fmt.Errorf("%w: %w", ErrCanceled, context.Cause(ctx))
	}
	return err
}

// exec runs one node with panic recovery and metrics, then makes sure its
// output is closed so that downstream stages finish.
func (n *node) exec(ctx context.Context) error {
	n.m.begin()
	defer n.m.finish()
	err := safeCall(func() error { return n.run(withMeter(ctx, n.m)) })
	n.closeOut()
	if err == nil && n.checkIn != nil {
		err = n.checkIn(ctx)
	}
	if err != nil {
		return &Error{Stage: n.name, Err: err}
	}
	return nil
}

// errReturnedEarly is the error of a stage that returned nil while its
// producer was still sending, which would otherwise block the producer.
var errReturnedEarly = errors.New("returned before its input was closed")

// inputClosed returns a check, run after a stage returned nil, that waits
// until in is closed (fine) or yields a value (the stage quit early) or the
// run is canceled.
func inputClosed[T any](in <-chan T) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case v, ok := <-in:
			if !ok {
				return nil
			}
			Discard(v)
			return errReturnedEarly
		case <-ctx.Done():
			return nil
		}
	}
}

// Stats returns a snapshot of every stage's counters in the order the
// stages were added. It is safe to call concurrently with Run.
func (g *Graph) Stats() []Stats {
	g.mu.Lock()
	nodes := g.nodes
	g.mu.Unlock()
	out := make([]Stats, len(nodes))
	for i, n := range nodes {
		out[i] = n.m.snapshot()
	}
	return out
}
