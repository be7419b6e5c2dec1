package openaiserver

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rlpipe/rlpipe/data"
)

// ErrConfig reports an invalid server configuration.
var ErrConfig = errors.New("openaiserver: invalid config")

// Defaults of Config's zero fields.
const (
	DefaultModelName    = "rlpipe"
	DefaultMaxBodyBytes = 1 << 20
	DefaultTimeout      = 120 * time.Second
	DefaultConcurrency  = 2
	DefaultQueueDepth   = 64
	DefaultMaxN         = 128
	DefaultMaxTokens    = 4096
	DefaultShutdown     = 10 * time.Second
	DefaultMaxConns     = 256
	// MaxHeaderTimeout caps the header-read timeout derived from Timeout.
	MaxHeaderTimeout = 10 * time.Second
	// MaxIdleTimeout caps the keep-alive idle timeout derived from Timeout.
	MaxIdleTimeout = 2 * time.Minute
)

// Config configures a Server. The zero value is usable; every zero field
// takes the documented default.
type Config struct {
	// ModelName is the id listed by /v1/models and the only model name
	// requests may ask for (default "rlpipe").
	ModelName string `yaml:"model_name"`
	// MaxBodyBytes caps a request body (default 1 MiB); larger bodies get 413.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// Timeout bounds one request from admission to answer, queueing
	// included (default 120s); expiry answers 504. The connection timeouts
	// derive from it (see HTTPTimeouts): a client must send its headers
	// within min(Timeout, 10s) and its whole request, body included,
	// within Timeout, or the server answers 408 and closes the connection.
	Timeout time.Duration `yaml:"timeout"`
	// MaxConns caps the connections served at once (default 256); further
	// connections wait in the listen backlog until one closes.
	MaxConns int `yaml:"max_conns"`
	// MaxPromptTokens is the longest prompt, in tokens, a request may send
	// (0: no limit); longer prompts get 400. "rlpipe serve" sets it to the
	// model's context minus one.
	MaxPromptTokens int `yaml:"max_prompt_tokens"`
	// APIKey, when not empty, is the bearer token every endpoint but
	// /health requires ("Authorization: Bearer KEY", compared in constant
	// time); other requests get 401. It is never serialized.
	APIKey string `yaml:"-" json:"-"`
	// Concurrency is how many model calls run at once (default 2).
	Concurrency int `yaml:"concurrency"`
	// QueueDepth is how many requests may wait for a model slot (default
	// 64); a request beyond it is refused with 429 immediately.
	QueueDepth int `yaml:"queue_depth"`
	// MaxN caps n times the number of prompts of one request (default 128).
	MaxN int `yaml:"max_n"`
	// MaxTokens caps max_tokens (default 4096); DefaultNewTokens is used
	// when a request omits it (default data.DefaultMaxNewTokens).
	MaxTokens        int `yaml:"max_tokens"`
	DefaultNewTokens int `yaml:"default_new_tokens"`
	// Seed seeds the per-request seeds of requests without a seed.
	Seed uint64 `yaml:"seed"`
	// ShutdownGrace bounds how long ListenAndServe waits for in-flight
	// requests after its context ends (default 10s).
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
	// RenderChat renders chat messages into the prompt text the model
	// continues (default FlattenChat, the flattening data.Template's chat
	// kind produces; `serve` passes the model's own chat template when it
	// has one). An error (a template that refuses the conversation) is a
	// 400 naming messages.
	RenderChat func([]data.ChatMessage) (string, error) `yaml:"-"`
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	c.ModelName = cmp.Or(c.ModelName, DefaultModelName)
	c.MaxBodyBytes = cmp.Or(c.MaxBodyBytes, DefaultMaxBodyBytes)
	c.Timeout = cmp.Or(c.Timeout, DefaultTimeout)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultConcurrency)
	c.QueueDepth = cmp.Or(c.QueueDepth, DefaultQueueDepth)
	c.MaxN = cmp.Or(c.MaxN, DefaultMaxN)
	c.MaxTokens = cmp.Or(c.MaxTokens, DefaultMaxTokens)
	if c.DefaultNewTokens == 0 {
		c.DefaultNewTokens = min(data.DefaultMaxNewTokens, c.MaxTokens)
	}
	c.ShutdownGrace = cmp.Or(c.ShutdownGrace, DefaultShutdown)
	c.MaxConns = cmp.Or(c.MaxConns, DefaultMaxConns)
	if c.RenderChat == nil {
		c.RenderChat = func(m []data.ChatMessage) (string, error) { return FlattenChat(m), nil }
	}
	return c
}

// Validate reports negative limits or a default token budget above the cap.
func (c Config) Validate() error {
	d := c.withDefaults()
	switch {
	case strings.TrimSpace(d.ModelName) != d.ModelName:
		return fmt.Errorf("%w: model_name %q has surrounding spaces", ErrConfig, d.ModelName)
	case d.MaxBodyBytes < 0 || d.Timeout < 0 || d.ShutdownGrace < 0:
		return fmt.Errorf("%w: max_body_bytes, timeout and shutdown_grace must be >= 0", ErrConfig)
	case d.Concurrency < 0 || d.QueueDepth < 0:
		return fmt.Errorf("%w: concurrency %d and queue_depth %d must be >= 0", ErrConfig, d.Concurrency, d.QueueDepth)
	case d.MaxN < 0 || d.MaxTokens < 0 || d.DefaultNewTokens < 0:
		return fmt.Errorf("%w: max_n, max_tokens and default_new_tokens must be >= 0", ErrConfig)
	case d.MaxConns < 0 || d.MaxPromptTokens < 0:
		return fmt.Errorf("%w: max_conns %d and max_prompt_tokens %d must be >= 0", ErrConfig, d.MaxConns, d.MaxPromptTokens)
	case d.DefaultNewTokens > d.MaxTokens:
		return fmt.Errorf("%w: default_new_tokens %d > max_tokens %d", ErrConfig, d.DefaultNewTokens, d.MaxTokens)
	}
	return nil
}

// Timeouts are the connection timeouts of an http.Server, derived from
// Config.Timeout by HTTPTimeouts.
type Timeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// HTTPTimeouts returns the connection timeouts derived from Timeout T
// (after defaults): headers within min(T, 10s), the whole request with its
// body within T (a slower client gets 408 and the connection is closed),
// the answer written within 2T+10s of the headers (reading, generating and
// writing), and keep-alive connections closed after min(T, 2min) idle.
func (c Config) HTTPTimeouts() Timeouts {
	t := c.withDefaults().Timeout
	return Timeouts{
		ReadHeader: min(t, MaxHeaderTimeout),
		Read:       t,
		Write:      2*t + 10*time.Second,
		Idle:       min(t, MaxIdleTimeout),
	}
}

// FlattenChat renders messages as "role: content" lines, the text form of
// data.Template's chat kind: a final assistant message is continued (a
// prefill), otherwise an "assistant: " turn is opened. For the chat
// template's messages it returns exactly the template's Text.
func FlattenChat(msgs []data.ChatMessage) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(m.Role)
		b.WriteString(": ")
		b.WriteString(m.Content)
	}
	if len(msgs) == 0 || msgs[len(msgs)-1].Role != "assistant" {
		if len(msgs) > 0 {
			b.WriteByte('\n')
		}
		b.WriteString("assistant: ")
	}
	return b.String()
}
