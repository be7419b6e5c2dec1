package rollout

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"
)

// RemoteError is an HTTP error answer of an inference server: its status and
// its message (truncated, API key redacted). It deliberately does not keep
// the client's request, which holds the key in a header.
type RemoteError struct {
	StatusCode int
	Message    string
}

// Error returns "status N: message".
func (e *RemoteError) Error() string {
	if e.Message == "" {
		return fmt.Sprintf("status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
	}
	return fmt.Sprintf("status %d: %s", e.StatusCode, e.Message)
}

var errNoChoice = errors.New("rollout: server answered without choices")

// secret holds the API key behind a pointer, so that printing a struct that
// holds one (even with %#v) shows an address, never the key.
type secret struct{ v string }

func (*secret) String() string   { return "[REDACTED]" }
func (*secret) GoString() string { return "[REDACTED]" }

// scrub replaces the key in text.
func (k *secret) scrub(text string) string {
	if k == nil || k.v == "" {
		return text
	}
	return strings.ReplaceAll(text, k.v, "[REDACTED]")
}

// redactedError scrubs the API key from an error's text; the chain below it
// holds no key (see RemoteError).
type redactedError struct {
	err error
	key *secret
}

func (e *redactedError) Error() string { return e.key.scrub(e.err.Error()) }

func (e *redactedError) Unwrap() error { return e.err }

func (g *OpenAI) redact(err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{err: err, key: g.key}
}

// retry verdicts.
const (
	verdictRetry = iota
	verdictDrop
	verdictFatal
)

// classify decides what a failed attempt means: 408, 409, 429, 5xx,
// timeouts and transport errors are retried; 401, 403 and 404 stop the call
// (ErrRemote: wrong key, URL or model); any other 4xx drops this request
// only (e.g. a prompt over the context length). It returns the error to
// report, with the client's error replaced by a RemoteError, and the
// server's Retry-After.
func (g *OpenAI) classify(err error) (int, error, time.Duration) {
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) {
		if errors.Is(err, ErrRemote) {
			return verdictFatal, err, 0
		}
		return verdictRetry, err, 0
	}
	msg := g.key.scrub(apiErr.Message)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	re := &RemoteError{StatusCode: apiErr.StatusCode, Message: msg}
	switch s := apiErr.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden || s == http.StatusNotFound:
		return verdictFatal, fmt.Errorf("%w (%s): %w", ErrRemote, g.cfg.BaseURL, re), 0
	case s == http.StatusRequestTimeout || s == http.StatusConflict || s == http.StatusTooManyRequests || s >= 500:
		return verdictRetry, re, retryAfter(apiErr.Response)
	}
	return verdictDrop, re, 0
}

// retryAfter reads Retry-After-Ms or Retry-After (seconds); 0 when absent.
func retryAfter(res *http.Response) time.Duration {
	if res == nil {
		return 0
	}
	if v, err := strconv.ParseFloat(res.Header.Get("Retry-After-Ms"), 64); err == nil && v > 0 {
		return time.Duration(v * float64(time.Millisecond))
	}
	if v, err := strconv.ParseFloat(res.Header.Get("Retry-After"), 64); err == nil && v > 0 {
		return time.Duration(v * float64(time.Second))
	}
	return 0
}

// backoff is BackoffBase·2^attempt, raised to the server's Retry-After,
// capped at BackoffMax. No jitter: Concurrency already bounds the burst.
func (g *OpenAI) backoff(attempt int, after time.Duration) time.Duration {
	d := g.cfg.BackoffMax
	if attempt < 30 {
		d = min(g.cfg.BackoffBase<<attempt, g.cfg.BackoffMax)
	}
	return min(max(d, after), g.cfg.BackoffMax)
}

// withRetry runs fn, each attempt holding one of the Concurrency slots and
// running under its own Timeout, retrying as
// classify says. The client's own retries are disabled (NewOpenAI) so that
// this is the only policy. Errors come back redacted; a done ctx returns its
// cause.
func (g *OpenAI) withRetry(ctx context.Context, st *statCounters, fn func(context.Context) error) error {
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			st.retries.Add(1)
		}
		// The slot is taken before the attempt's clock starts, so queueing
		// behind Concurrency never counts as a timeout.
		select {
		case g.sem <- struct{}{}:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		st.requests.Add(1)
		actx, cancel := context.WithTimeout(ctx, g.cfg.Timeout)
		err := fn(actx)
		cancel()
		<-g.sem
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return context.Cause(ctx)
		}
		verdict, err, after := g.classify(err)
		if verdict != verdictRetry || attempt >= g.cfg.MaxRetries {
			if verdict == verdictRetry {
				err = fmt.Errorf("after %d attempts: %w", attempt+1, err)
			}
			return g.redact(err)
		}
		t := time.NewTimer(g.backoff(attempt, after))
		select {
		case <-ctx.Done():
			t.Stop()
			return context.Cause(ctx)
		case <-t.C:
		}
	}
}

// fatal reports whether err must stop the whole call rather than drop one
// request: cancellation or a refused model, key or URL.
func fatal(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, ErrRemote)
}
