package flight

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/apache/arrow/go/v17/arrow"
	arrowflight "github.com/apache/arrow/go/v17/arrow/flight"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout"
)

// RolloutPool sends rollout requests to Flight rollout workers, pushing
// policy weights to them and failing over between them. It is safe for
// concurrent use; Close it when done.
type RolloutPool struct {
	*pool
}

// NewRolloutPool makes a pool over the workers at addrs (host:port). It
// does not connect yet: an unreachable worker is found, and marked dead, by
// the first request.
func NewRolloutPool(addrs []string, opts ...Option) (*RolloutPool, error) {
	p, err := newPool(addrs, opts)
	if err != nil {
		return nil, err
	}
	return &RolloutPool{p}, nil
}

// Generator returns a generator over the policy of version, whose
// safetensors bytes weights writes (see WeightsFunc). weights runs at most
// once, when a worker first needs the version; its bytes are kept for
// later pushes (retries, workers that evicted the version) for as long as
// the Generator is referenced.
func (rp *RolloutPool) Generator(version int64, weights func(w io.Writer) error) *Generator {
	return &Generator{rp: rp, version: version, weights: weights}
}

// Generator generates rollouts on a RolloutPool's workers with one policy
// version. It satisfies the RL loop's generator interface and is safe for
// concurrent use.
type Generator struct {
	rp      *RolloutPool
	version int64
	weights func(w io.Writer) error

	once sync.Once
	body []byte // EncodeSetWeights(version, safetensors)
	err  error
}

// Version is the policy version the generator pushes and requests.
func (g *Generator) Version() int64 { return g.version }

func (g *Generator) setWeightsBody() ([]byte, error) {
	g.once.Do(func() {
		var buf bytes.Buffer
		buf.Write(EncodeSetWeights(g.version, nil))
		if err := g.weights(&buf); err != nil {
			g.err = fmt.Errorf("flight: serializing policy version %d: %w", g.version, err)
			return
		}
		g.body = buf.Bytes()
	})
	return g.body, g.err
}

// Generate rolls out req on the live workers: the prompts are cut into
// contiguous chunks, one per live worker, each worker first receiving the
// generator's weights if it lacks them; the results are concatenated in
// prompt order, so the rows equal rollout.InProcess's for req over the same
// policy. req.PolicyVersion is recorded on the rows as given (the weights
// used are always the generator's version). A failed worker is marked dead
// and its chunk retried on another; with none left the error wraps
// ErrNoWorkers.
func (g *Generator) Generate(ctx context.Context, req rollout.Request) ([]data.Rollout, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	if len(req.Prompts) == 0 {
		return []data.Rollout{}, nil
	}
	p := g.rp.pool
	n := min(len(p.live()), len(req.Prompts))
	n = max(n, 1)
	results := make([][]data.Rollout, n)
	err := p.runChunks(ctx, n, func(ctx context.Context, w *worker, i int) error {
		sub := req
		sub.Prompts = req.Prompts[i*len(req.Prompts)/n : (i+1)*len(req.Prompts)/n]
		rows, err := g.generateOn(ctx, w, sub)
		results[i] = rows
		return err
	})
	if err != nil {
		// req.Step is 0-based; runs show step s as s+1.
		return nil, fmt.Errorf("flight: generating step %d (version %d): %w", req.Step+1, g.version, err)
	}
	out := make([]data.Rollout, 0, req.Rows())
	for _, r := range results {
		out = append(out, r...)
	}
	return out, nil
}

// generateOn pushes the weights to w if needed and runs one request there.
func (g *Generator) generateOn(ctx context.Context, w *worker, req rollout.Request) ([]data.Rollout, error) {
	if err := g.push(ctx, w); err != nil {
		return nil, err
	}
	p := g.rp.pool
	h := rolloutHeader(req, p.cfg.template, p.cfg.diffusion)
	h.Weights = g.version
	rec := data.NewPromptsRecord(p.cfg.mem, req.Prompts)
	defer rec.Release()
	rows := make([]data.Rollout, 0, req.Rows())
	_, err := exchange(ctx, w.client, p.cfg.mem, h, rec.Schema(), []arrow.Record{rec}, data.RolloutsSchema(), func(r arrow.Record) error {
		rs, err := data.RolloutsFromRecord(r)
		rows = append(rows, rs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(rows) != req.Rows() {
		return nil, fmt.Errorf("%w: worker %s returned %d rows for %d", ErrProtocol, w.addr, len(rows), req.Rows())
	}
	return rows, nil
}

// push sends the generator's weights to w unless it has them already.
func (g *Generator) push(ctx context.Context, w *worker) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.has[g.version] {
		return nil
	}
	body, err := g.setWeightsBody()
	if err != nil {
		return err
	}
	g.rp.pool.pushes.Add(1)
	stream, err := w.client.DoAction(ctx, &arrowflight.Action{Type: ActionSetWeights, Body: body})
	if err != nil {
		return err
	}
	res, err := stream.Recv()
	if err != nil {
		return err
	}
	if string(res.Body) != "ok" {
		return fmt.Errorf("%w: set_weights replied %q", ErrProtocol, res.Body)
	}
	if err := arrowflight.ReadUntilEOF(stream); err != nil {
		return err
	}
	w.has[g.version] = true
	return nil
}

// Saver is what WeightsFunc needs of a model: every policy.Trainable has
// it.
type Saver interface {
	Save(path string, meta map[string]string) error
}

// WeightsFunc returns a weights writer for RolloutPool.Generator that saves
// m with meta (e.g. MetaTokenizer) through a temporary file, since
// Model.Save writes to a path. m must not be trained while it runs: pass
// a frozen snapshot.
func WeightsFunc(m Saver, meta map[string]string) func(w io.Writer) error {
	return func(w io.Writer) error {
		dir, err := os.MkdirTemp("", "rlpipe-push-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		path := dir + string(os.PathSeparator) + "model.safetensors"
		if err := m.Save(path, meta); err != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(w, f)
		return err
	}
}
