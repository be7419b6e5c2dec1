package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/rlpipe/rlpipe/data"
)

// ErrUnavailable is returned by OpenAI.Generate when every sample of a
// request was lost after retries: the server is down or unreachable.
var ErrUnavailable = errors.New("rollout: inference server unavailable")

// ErrRemote reports a server answer that retrying cannot fix and that
// concerns every request (401, 403, 404: wrong key, model or URL).
var ErrRemote = errors.New("rollout: inference server refused the request")

// OpenAIStats counts an OpenAI generator's traffic.
type OpenAIStats struct {
	// Requests counts HTTP attempts, Retries those beyond each request's
	// first.
	Requests, Retries int64
	// Fallbacks counts single-sample requests sent because a server
	// returned fewer than n choices.
	Fallbacks int64
	// Dropped counts samples lost after retries (or refused with a
	// non-retryable 4xx); their rows are absent from the result.
	Dropped int64
	// LastError describes the latest dropped request (API key redacted).
	LastError string
}

type statCounters struct {
	requests, retries, fallbacks, dropped atomic.Int64
	mu                                    sync.Mutex
	lastErr                               string
}

func (c *statCounters) drop(n int, err error) {
	c.dropped.Add(int64(n))
	c.mu.Lock()
	c.lastErr = err.Error()
	c.mu.Unlock()
}

func (c *statCounters) snapshot() OpenAIStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return OpenAIStats{Requests: c.requests.Load(), Retries: c.retries.Load(),
		Fallbacks: c.fallbacks.Load(), Dropped: c.dropped.Load(), LastError: c.lastErr}
}

func (c *statCounters) add(o OpenAIStats) {
	c.requests.Add(o.Requests)
	c.retries.Add(o.Retries)
	c.fallbacks.Add(o.Fallbacks)
	c.dropped.Add(o.Dropped)
	if o.LastError != "" {
		c.mu.Lock()
		c.lastErr = o.LastError
		c.mu.Unlock()
	}
}

// OpenAI generates rollouts through an OpenAI-compatible server (vLLM,
// SGLang, llama.cpp's server, rlpipe serve) with the official openai-go
// client. Rows come out ordered by prompt, mode and sample like InProcess;
// samples lost after retries are absent and counted (see GenerateStats).
//
// Each (prompt, mode) is one request with n = G and a seed derived from
// (Request.Seed, Step, Round, mode, prompt id), so a server that honours seeds
// makes runs reproducible. OpenAI is safe for concurrent use; Concurrency
// bounds its in-flight requests across all calls.
type OpenAI struct {
	cfg    OpenAIConfig
	tmpl   data.Template
	render Renderer // nil: tmpl's text
	codec  Codec
	key    *secret
	http   *http.Client

	completions openai.CompletionService
	chat        openai.ChatCompletionService
	models      openai.ModelService

	sem     chan struct{}
	modelMu sync.Mutex
	model   string
	total   statCounters
}

// PromptTemplate is the data template prompts are rendered with: Template
// (defaulted by the API) with System.
func (c OpenAIConfig) PromptTemplate() data.Template {
	c = c.withDefaults()
	return data.Template{Kind: c.Template, System: c.System}
}

// SetRenderer makes r render the prompt text (the completions API's prompt,
// and the text PromptTokens are encoded from when the server returns no
// prompt ids) instead of cfg.Template's text form: a policy with its own
// chat template passes its renderer, so that the text the server continues
// is the one training scores. The chat API still sends the messages. Call
// it before the first Generate.
func (g *OpenAI) SetRenderer(r Renderer) { g.render = r }

// NewOpenAI returns a generator for cfg. codec (may be nil) turns completion
// text into CompletionTokens when the server returns no token ids, prompt
// text into PromptTokens, and GenParams.StopTokens into stop strings. The API
// key is read from the environment variable cfg.APIKeyEnv now, kept in
// memory only, and redacted from every error. No request is made until
// Generate.
func NewOpenAI(cfg OpenAIConfig, codec Codec) (*OpenAI, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	tmpl := cfg.PromptTemplate()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = cfg.Concurrency
	g := &OpenAI{
		cfg: cfg, tmpl: tmpl, codec: codec, key: &secret{os.Getenv(cfg.APIKeyEnv)},
		http: &http.Client{Transport: transport}, sem: make(chan struct{}, cfg.Concurrency), model: cfg.Model,
	}
	// Services built directly (not through openai.NewClient) read nothing
	// from the environment: only the options below apply. Retries are ours
	// (see retry.go), so the client's own are off.
	opts := []option.RequestOption{
		option.WithHTTPClient(g.http),
		option.WithBaseURL(strings.TrimSuffix(cfg.BaseURL, "/") + "/"),
		option.WithMaxRetries(0),
	}
	if g.key.v != "" {
		opts = append(opts, option.WithAPIKey(g.key.v))
	}
	g.completions = openai.NewCompletionService(opts...)
	g.chat = openai.NewChatCompletionService(opts...)
	g.models = openai.NewModelService(opts...)
	return g, nil
}

// Stats returns the generator's cumulative counters over all calls.
func (g *OpenAI) Stats() OpenAIStats { return g.total.snapshot() }

// Close releases idle connections. The generator stays usable.
func (g *OpenAI) Close() error {
	g.http.CloseIdleConnections()
	return nil
}

// Generate rolls out req like InProcess.Generate, except that samples lost
// after retries are absent: it returns at most req.Rows() rollouts, ordered
// by prompt, mode and sample. Use GenerateStats to see what was dropped.
func (g *OpenAI) Generate(ctx context.Context, req Request) ([]data.Rollout, error) {
	rows, _, err := g.GenerateStats(ctx, req)
	return rows, err
}

// GenerateStats is Generate that also returns this call's counters
// (Dropped = req.Rows() - len(rows) on success). It fails, returning no rows,
// when req is invalid, ctx ends, the server refuses the model, key or URL
// (ErrRemote), or every sample was lost (ErrUnavailable).
func (g *OpenAI) GenerateStats(ctx context.Context, req Request) ([]data.Rollout, OpenAIStats, error) {
	if err := req.Validate(); err != nil {
		return nil, OpenAIStats{}, err
	}
	var st statCounters
	defer func() { g.total.add(st.snapshot()) }()
	model, err := g.resolveModel(ctx, &st)
	if err != nil {
		return nil, st.snapshot(), err
	}
	modes := req.modes()
	slots := make([][]*data.Rollout, len(req.Prompts)*len(modes))
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for i := range slots {
		p, mode := req.Prompts[i/len(modes)], modes[i%len(modes)]
		wg.Go(func() {
			rows, err := g.group(ctx, &st, model, &req, p, mode)
			if err != nil {
				cancel(err)
				return
			}
			slots[i] = rows
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return nil, st.snapshot(), err
	}
	out := make([]data.Rollout, 0, req.Rows())
	for _, rows := range slots {
		for _, r := range rows {
			if r != nil {
				out = append(out, *r)
			}
		}
	}
	stats := st.snapshot()
	if len(out) == 0 && req.Rows() > 0 {
		return nil, stats, fmt.Errorf("%w: all %d samples lost: %s", ErrUnavailable, req.Rows(), stats.LastError)
	}
	return out, stats, nil
}

// resolveModel returns cfg.Model, or asks the server once for the model it
// serves.
func (g *OpenAI) resolveModel(ctx context.Context, st *statCounters) (string, error) {
	g.modelMu.Lock()
	defer g.modelMu.Unlock()
	if g.model != "" {
		return g.model, nil
	}
	var id string
	err := g.withRetry(ctx, st, func(ctx context.Context) error {
		page, err := g.models.List(ctx)
		if err != nil {
			return err
		}
		if len(page.Data) == 0 {
			return fmt.Errorf("%w: %s/models lists no model; set model", ErrRemote, g.cfg.BaseURL)
		}
		id = page.Data[0].ID
		return nil
	})
	if err != nil {
		return "", g.redact(fmt.Errorf("rollout: finding the served model: %w", err))
	}
	g.model = id
	return id, nil
}
