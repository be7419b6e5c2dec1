package flight

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
)

// DefaultRequestTimeout bounds one request to one worker (a chunk's
// generation or scoring, or a weights push) unless WithRequestTimeout says
// otherwise. A worker that does not answer in time is marked dead.
const DefaultRequestTimeout = 10 * time.Minute

// Option configures a RolloutPool or RewardPool.
type Option func(*poolConfig)

type poolConfig struct {
	timeout   time.Duration
	mem       memory.Allocator
	template  data.Template
	diffusion *policy.DiffusionGenConfig
}

// WithRequestTimeout bounds each request to one worker (default
// DefaultRequestTimeout); a worker that exceeds it is marked dead and its
// chunk retried elsewhere. d <= 0 keeps the default.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *poolConfig) {
		if d > 0 {
			c.timeout = d
		}
	}
}

// WithAllocator sets the allocator of the batches a pool sends and
// receives (default memory.DefaultAllocator).
func WithAllocator(mem memory.Allocator) Option {
	return func(c *poolConfig) { c.mem = mem }
}

// WithTemplate sets the prompt template rollout workers render prompts
// with (default: the plain template), as data.TemplateByName(cfg) gives it.
func WithTemplate(t data.Template) Option {
	return func(c *poolConfig) { c.template = t }
}

// WithDiffusion sets the sampling configuration rollout workers give a
// diffusion policy (the in-process path's policy.diffusion.gen); causal
// policies ignore it.
func WithDiffusion(g policy.DiffusionGenConfig) Option {
	return func(c *poolConfig) { c.diffusion = &g }
}

// Stats counts a pool's work since it was made.
type Stats struct {
	// Requests counts requests sent to workers (chunks, including
	// retries); Retries the chunks re-sent after a failure; Pushes the
	// weight pushes.
	Requests, Retries, Pushes int64
	// Workers is the pool's size; Dead lists the addresses of the workers
	// marked dead.
	Workers int
	Dead    []string
}

// worker is one remote worker.
type worker struct {
	addr   string
	client arrowflight.Client
	dead   atomic.Bool
	mu     sync.Mutex     // serializes weight pushes; guards has
	has    map[int64]bool // versions pushed (the worker may have evicted some)
}

// pool is what both pools share, embedded in each: the workers, failover,
// counters, Close and Stats.
type pool struct {
	cfg                       poolConfig
	workers                   []*worker
	next                      atomic.Uint64
	requests, retries, pushes atomic.Int64
}

func newPool(addrs []string, opts []Option) (*pool, error) {
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%w: the pool has no addresses", ErrNoWorkers)
	}
	p := &pool{cfg: poolConfig{timeout: DefaultRequestTimeout, mem: memory.DefaultAllocator}}
	for _, o := range opts {
		o(&p.cfg)
	}
	if err := p.cfg.template.Validate(); err != nil {
		return nil, fmt.Errorf("flight: %w", err)
	}
	for _, a := range addrs {
		c, err := arrowflight.NewClientWithMiddleware(a, nil, nil,
			grpc.WithTransportCredentials(insecure.NewCredentials()), callOptions())
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("flight: worker %s: %w", a, err)
		}
		p.workers = append(p.workers, &worker{addr: a, client: c, has: map[int64]bool{}})
	}
	return p, nil
}

// Close closes the connections to every worker.
func (p *pool) Close() error {
	var first error
	for _, w := range p.workers {
		if err := w.client.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Stats returns the pool's counters.
func (p *pool) Stats() Stats {
	s := Stats{Requests: p.requests.Load(), Retries: p.retries.Load(), Pushes: p.pushes.Load(), Workers: len(p.workers)}
	for _, w := range p.workers {
		if w.dead.Load() {
			s.Dead = append(s.Dead, w.addr)
		}
	}
	return s
}

func (p *pool) live() []*worker {
	var out []*worker
	for _, w := range p.workers {
		if !w.dead.Load() {
			out = append(out, w)
		}
	}
	return out
}

// pick returns a live worker other than avoid if there is one (round
// robin), else avoid if it is still live, else nil.
func (p *pool) pick(avoid *worker) *worker {
	live := p.live()
	if len(live) == 0 {
		return nil
	}
	start := int(p.next.Add(1))
	for k := range live {
		if w := live[(start+k)%len(live)]; w != avoid {
			return w
		}
	}
	return live[0]
}

// workerFailed reports whether err (from a call whose parent context is
// still live) means the worker is gone or stuck rather than that the
// request was bad: the pools then mark it dead and retry elsewhere.
func workerFailed(err error) bool {
	st, ok := status.FromError(err)
	if !ok {
		return errors.Is(err, context.DeadlineExceeded)
	}
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled, codes.Aborted, codes.ResourceExhausted, codes.Unknown:
		return true
	}
	return false
}

func needsWeights(err error) bool {
	return status.Code(err) == codes.FailedPrecondition
}

// maxRepushes bounds how often one chunk re-pushes weights to a worker
// that reports it lacks them (evicted by overlapping versions).
const maxRepushes = 3

// runChunks runs do for chunks 0..n-1 concurrently, chunk i first on live
// worker i (mod live workers). A chunk whose worker fails is retried on
// another live worker, the failed one marked dead; do gets a context bounded
// by the request timeout. The first error that is not a worker failure
// cancels the other chunks and is returned; when no live worker is left the
// error wraps ErrNoWorkers.
func (p *pool) runChunks(ctx context.Context, n int, do func(ctx context.Context, w *worker, i int) error) error {
	live := p.live()
	if len(live) == 0 {
		return fmt.Errorf("%w (all %d marked dead)", ErrNoWorkers, len(p.workers))
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.runChunk(ctx, live[i%len(live)], i, do); err != nil {
				once.Do(func() { first = err })
				cancel(err)
			}
		}()
	}
	wg.Wait()
	return first
}

func (p *pool) runChunk(ctx context.Context, w *worker, i int, do func(ctx context.Context, w *worker, i int) error) error {
	repushes := 0
	var lastErr error
	for {
		if w == nil {
			return fmt.Errorf("chunk %d: %w; last failure: %v", i, ErrNoWorkers, lastErr)
		}
		p.requests.Add(1)
		actx, cancel := context.WithTimeout(ctx, p.cfg.timeout)
		err := do(actx, w, i)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return context.Cause(ctx)
		case needsWeights(err) && repushes < maxRepushes:
			repushes++
			w.forget()
		case workerFailed(err):
			w.dead.Store(true)
			lastErr = fmt.Errorf("worker %s: %w", w.addr, err)
			w = p.pick(w)
		default:
			return fmt.Errorf("%w: worker %s, chunk %d: %w", ErrRemote, w.addr, i, err)
		}
		p.retries.Add(1)
	}
}

func (w *worker) forget() {
	w.mu.Lock()
	clear(w.has)
	w.mu.Unlock()
}
