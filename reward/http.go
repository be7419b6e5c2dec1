package reward

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// HTTPConfig configures an HTTP reward plugin. Zero fields take the
// documented defaults; URL is required.
type HTTPConfig struct {
	URL         string            // endpoint receiving POSTed batches (required)
	Headers     map[string]string // extra request headers (e.g. Authorization)
	Batch       int               // rows per request (default 64)
	MaxBytes    int               // request body bound in bytes (default 8 MiB)
	Timeout     time.Duration     // per-request timeout (default 10s)
	Retries     int               // retries on 5xx, 429 and connection errors (default 3; -1 none)
	BackoffMin  time.Duration     // first retry delay (default 100ms), doubling
	BackoffMax  time.Duration     // retry delay cap (default 2s)
	Concurrency int               // requests in flight (default 4)
	Client      *http.Client      // default: a client with no overall timeout
}

func (c *HTTPConfig) defaults() {
	c.Batch = cmp.Or(c.Batch, 64)
	if c.MaxBytes == 0 {
		c.MaxBytes = 8 << 20
	}
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Retries = cmp.Or(c.Retries, 3)
	if c.Retries < 0 {
		c.Retries = 0
	}
	if c.BackoffMin == 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax == 0 {
		c.BackoffMax = 2 * time.Second
	}
	c.Concurrency = cmp.Or(c.Concurrency, 4)
	if c.Client == nil {
		c.Client = &http.Client{}
	}
}

// Validate reports the first invalid field of c.
func (c HTTPConfig) Validate() error {
	switch {
	case c.URL == "":
		return fmt.Errorf("%w: http reward needs a url", ErrConfig)
	case c.Batch < 0 || c.MaxBytes < 0 || c.Concurrency < 0:
		return fmt.Errorf("%w: http batch, max_bytes and concurrency must be positive", ErrConfig)
	case c.Timeout < 0 || c.BackoffMin < 0 || c.BackoffMax < 0:
		return fmt.Errorf("%w: http timeouts must be positive", ErrConfig)
	}
	return nil
}

// HTTP is the HTTP reward plugin: it POSTs batches of rows as JSON
// (reward/PROTOCOL.md) and retries with backoff on 5xx, 429 and connection
// errors. Every row gets a reward or an error. It is safe for concurrent use.
type HTTP struct {
	cfg    HTTPConfig
	nextID atomic.Uint64
}

// NewHTTP validates cfg and returns the plugin.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &HTTP{cfg: cfg}, nil
}

// newHTTPFactory builds `http`. Options: url (required), headers (map of
// header to value), headers_env (map of header to the environment variable
// holding its value, for secrets), batch, max_bytes, timeout, retries, backoff_min, backoff_max, concurrency.
func newHTTPFactory(o Options) (Func, error) {
	if err := o.Check("url", "headers", "headers_env", "batch", "max_bytes", "timeout", "retries", "backoff_min", "backoff_max", "concurrency"); err != nil {
		return nil, err
	}
	var c HTTPConfig
	var err error
	if c.URL, err = o.String("url", ""); err != nil {
		return nil, err
	}
	if c.Headers, err = httpHeaders(o); err != nil {
		return nil, err
	}
	for key, dst := range map[string]*int{"batch": &c.Batch, "max_bytes": &c.MaxBytes, "retries": &c.Retries, "concurrency": &c.Concurrency} {
		if *dst, err = o.Int(key, 0); err != nil {
			return nil, err
		}
	}
	for key, dst := range map[string]*time.Duration{"timeout": &c.Timeout, "backoff_min": &c.BackoffMin, "backoff_max": &c.BackoffMax} {
		if *dst, err = o.Duration(key, 0); err != nil {
			return nil, err
		}
	}
	return NewHTTP(c)
}

// SelfTimed reports true: each request carries the timeout.
func (h *HTTP) SelfTimed() bool { return true }

type httpChunk struct {
	idx  []int
	body []byte
	ids  []uint64
}

// Score posts rows in batches bounded by Batch rows and MaxBytes bytes.
func (h *HTTP) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	chunks := h.chunks(rows, out)
	sem := make(chan struct{}, h.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, c := range chunks {
		wg.Add(1)
		sem <- struct{}{}
		go func(c httpChunk) {
			defer wg.Done()
			defer func() { <-sem }()
			h.post(ctx, c, out)
		}(c)
	}
	wg.Wait()
	return nil
}

// chunks encodes rows into request bodies; a row that alone exceeds
// MaxBytes gets an error.
func (h *HTTP) chunks(rows []Row, out []Result) []httpChunk {
	var chunks []httpChunk
	var cur httpChunk
	flush := func() {
		if len(cur.idx) > 0 {
			cur.body = append(cur.body, "]}"...)
			chunks = append(chunks, cur)
		}
		cur = httpChunk{}
	}
	for i := range rows {
		out[i] = Result{}
		id := h.nextID.Add(1)
		enc, err := json.Marshal(newWireRequest(id, &rows[i]))
		if err != nil {
			out[i].Fail(KindError, "http: encode row: %v", err)
			continue
		}
		if len(enc)+16 > h.cfg.MaxBytes {
			out[i].Fail(KindError, "http: row is %d bytes, above max_bytes %d", len(enc), h.cfg.MaxBytes)
			continue
		}
		if len(cur.idx) >= h.cfg.Batch || len(cur.body)+len(enc)+3 > h.cfg.MaxBytes {
			flush()
		}
		if len(cur.idx) == 0 {
			cur.body = append(cur.body, `{"rows":[`...)
		} else {
			cur.body = append(cur.body, ',')
		}
		cur.body = append(cur.body, enc...)
		cur.idx = append(cur.idx, i)
		cur.ids = append(cur.ids, id)
	}
	flush()
	return chunks
}

// post sends one chunk with retries and records every row's result.
func (h *HTTP) post(ctx context.Context, c httpChunk, out []Result) {
	fail := func(kind ErrorKind, format string, args ...any) {
		for _, i := range c.idx {
			out[i].Fail(kind, format, args...)
		}
	}
	delay := h.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		body, status, err := h.once(ctx, c.body)
		retryable := err != nil || status >= 500 || status == http.StatusTooManyRequests
		if !retryable {
			if status != http.StatusOK {
				fail(KindError, "http: status %d: %s", status, clip(string(bytes.TrimSpace(body)), 300))
				return
			}
			h.decode(body, c, out)
			return
		}
		if ctx.Err() != nil {
			fail(KindCanceled, "http: %v", ctx.Err())
			return
		}
		if attempt >= h.cfg.Retries {
			kind, msg := KindCrash, fmt.Sprintf("status %d: %s", status, clip(string(bytes.TrimSpace(body)), 300))
			if err != nil {
				msg = err.Error()
				if errors.Is(err, context.DeadlineExceeded) {
					kind = KindTimeout
				}
			}
			fail(kind, "http: after %d attempts: %s", attempt+1, msg)
			return
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			fail(KindCanceled, "http: %v", ctx.Err())
			return
		}
		delay = min(2*delay, h.cfg.BackoffMax)
	}
}

// maxResponse bounds a response body.
const maxResponse = 64 << 20

func (h *HTTP) once(ctx context.Context, body []byte) ([]byte, int, error) {
	rctx, cancel := context.WithTimeout(ctx, h.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range h.cfg.Headers {
		req.Header.Set(k, v)
	}
	resp, err := h.cfg.Client.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return nil, 0, err
	}
	return b, resp.StatusCode, nil
}

// decode matches results to rows by id; rows without a result get errors.
// A body with NaN or ±Infinity rewards (Python's json writes them bare,
// which is not JSON) is read with those values quoted, so that only their
// rows get nan errors (PROTOCOL.md), not the whole batch.
func (h *HTTP) decode(body []byte, c httpChunk, out []Result) {
	var resp struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := unmarshalNonFinite(body, &resp); err != nil || resp.Results == nil {
		for _, i := range c.idx {
			out[i].Fail(KindMalformed, "http: malformed response %q", clip(string(body), 200))
		}
		return
	}
	pos := make(map[uint64]int, len(c.ids))
	for k, id := range c.ids {
		pos[id] = c.idx[k]
	}
	seen := make(map[int]bool, len(c.idx))
	for _, raw := range resp.Results {
		rep, id, err := decodeReply(raw)
		if err != nil {
			continue
		}
		if i, ok := pos[id]; ok && !seen[i] {
			seen[i] = true
			rep.fill(&out[i], "http")
		}
	}
	for _, i := range c.idx {
		if !seen[i] {
			out[i].Fail(KindMalformed, "http: response has no valid result for this row")
		}
	}
}

// RedactedValue replaces literal header values in the configuration rlpipe
// writes into run directories (Config.Redacted).
const RedactedValue = "<redacted>"

// httpHeaders reads the headers and headers_env options: literal values,
// and values read from the named environment variables. A header given
// twice, a value that is not a string, an unset variable, or a value that
// was redacted from a run directory's config.yaml is an ErrConfig naming
// the header.
func httpHeaders(o Options) (map[string]string, error) {
	lit, err := stringMap(o["headers"], "headers")
	if err != nil {
		return nil, err
	}
	env, err := stringMap(o["headers_env"], "headers_env")
	if err != nil {
		return nil, err
	}
	if len(lit)+len(env) == 0 {
		return nil, nil
	}
	out := make(map[string]string, len(lit)+len(env))
	for k, v := range lit {
		if v == RedactedValue {
			return nil, fmt.Errorf("%w: http option headers.%s was redacted from the saved config; give secrets with headers_env (header: ENV_VAR)", ErrConfig, k)
		}
		out[k] = v
	}
	for k, name := range env {
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("%w: http header %q is in both headers and headers_env", ErrConfig, k)
		}
		v, ok := os.LookupEnv(name)
		if !ok {
			return nil, fmt.Errorf("%w: http option headers_env.%s: environment variable %s is not set", ErrConfig, k, name)
		}
		out[k] = v
	}
	return out, nil
}

// stringMap reads an option holding a map of strings, however the config
// decoder typed it (YAML gives nested maps as Options).
func stringMap(v any, key string) (map[string]string, error) {
	var m map[string]any
	switch x := v.(type) {
	case nil:
		return nil, nil
	case Options:
		m = x
	case map[string]any:
		m = x
	case map[string]string:
		return x, nil
	default:
		return nil, fmt.Errorf("%w: http option %s: want a map of header to string, got %T", ErrConfig, key, v)
	}
	out := make(map[string]string, len(m))
	for k, val := range m {
		s, ok := val.(string)
		if !ok {
			return nil, fmt.Errorf("%w: http option %s.%s: want a string, got %T", ErrConfig, key, k, val)
		}
		out[k] = s
	}
	return out, nil
}
