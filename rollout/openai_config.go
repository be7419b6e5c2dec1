package rollout

import (
	"cmp"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/rlpipe/rlpipe/data"
)

// ErrOpenAIConfig reports an invalid OpenAIConfig.
var ErrOpenAIConfig = errors.New("rollout: invalid openai config")

// APIs an OpenAI generator can call.
const (
	// APICompletions calls /v1/completions with the rendered prompt text.
	APICompletions = "completions"
	// APIChat calls /v1/chat/completions with the rendered chat messages.
	APIChat = "chat"
)

// Defaults of OpenAIConfig's zero fields.
const (
	DefaultOpenAIBaseURL     = "http://127.0.0.1:8000/v1"
	DefaultOpenAIAPIKeyEnv   = "OPENAI_API_KEY"
	DefaultOpenAIConcurrency = 8
	DefaultOpenAITimeout     = 120 * time.Second
	DefaultOpenAIMaxRetries  = 3
	DefaultOpenAIBackoffBase = 250 * time.Millisecond
	DefaultOpenAIBackoffMax  = 8 * time.Second
)

// OpenAIConfig configures an OpenAI generator. The zero value is usable: it
// talks to a local server at DefaultOpenAIBaseURL with the completions API
// and the plain template, and asks the server which model it serves.
type OpenAIConfig struct {
	// BaseURL is the API root including /v1 (default
	// "http://127.0.0.1:8000/v1").
	BaseURL string `yaml:"base_url"`
	// Model is the served model's name; empty means the first model listed
	// by the server's /v1/models (right for vLLM, SGLang, llama.cpp and
	// rlpipe serve, which serve one model).
	Model string `yaml:"model"`
	// APIKeyEnv names the environment variable holding the API key (default
	// "OPENAI_API_KEY"). It is read once by NewOpenAI; an unset or empty
	// variable sends no key. The key itself never appears in config files.
	APIKeyEnv string `yaml:"api_key_env"`
	// API is APICompletions (default) or APIChat.
	API string `yaml:"api"`
	// Concurrency bounds in-flight HTTP requests of the generator (default 8).
	Concurrency int `yaml:"concurrency"`
	// Timeout bounds one HTTP attempt (default 120s); a timed-out attempt is
	// retried like a 5xx.
	Timeout time.Duration `yaml:"timeout"`
	// MaxRetries is how often a failed request is retried (default 3; a
	// negative value means never) on 408, 409, 429, 5xx, connection errors
	// and timeouts, with exponential backoff BackoffBase·2^attempt capped at
	// BackoffMax (defaults 250ms and 8s), raised to the server's
	// Retry-After when that is larger but still within BackoffMax.
	MaxRetries  int           `yaml:"max_retries"`
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	// Template is the prompt template ("plain" or "chat"); empty means
	// "plain" for the completions API and "chat" for the chat API. System
	// overrides the chat template's system prompt.
	Template string `yaml:"template"`
	System   string `yaml:"system"`
	// Stop lists stop strings sent with every request, besides the decoded
	// GenParams.StopTokens (which need a Codec).
	Stop []string `yaml:"stop"`
	// ReturnTokenIDs asks the server for the sampled token ids
	// ("return_token_ids", a vLLM extension rlpipe serve also implements);
	// without them completion tokens come from the Codec, if any.
	ReturnTokenIDs bool `yaml:"return_token_ids"`
	// NoLogprobs stops asking for per-token log-probabilities (for servers
	// that reject the field).
	NoLogprobs bool `yaml:"no_logprobs"`
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c OpenAIConfig) withDefaults() OpenAIConfig {
	c.BaseURL = cmp.Or(c.BaseURL, DefaultOpenAIBaseURL)
	c.APIKeyEnv = cmp.Or(c.APIKeyEnv, DefaultOpenAIAPIKeyEnv)
	c.API = cmp.Or(c.API, APICompletions)
	c.Concurrency = cmp.Or(c.Concurrency, DefaultOpenAIConcurrency)
	c.Timeout = cmp.Or(c.Timeout, DefaultOpenAITimeout)
	switch {
	case c.MaxRetries == 0:
		c.MaxRetries = DefaultOpenAIMaxRetries
	case c.MaxRetries < 0:
		c.MaxRetries = 0
	}
	c.BackoffBase = cmp.Or(c.BackoffBase, DefaultOpenAIBackoffBase)
	c.BackoffMax = cmp.Or(c.BackoffMax, DefaultOpenAIBackoffMax)
	if c.Template == "" {
		c.Template = data.TemplatePlain
		if c.API == APIChat {
			c.Template = data.TemplateChat
		}
	}
	return c
}

// Validate reports a malformed base URL, an unknown API or template, or
// negative limits.
func (c OpenAIConfig) Validate() error {
	d := c.withDefaults()
	u, err := url.Parse(d.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: base_url %q is not an http(s) URL", ErrOpenAIConfig, d.BaseURL)
	}
	if u.User != nil {
		return fmt.Errorf("%w: base_url must not carry credentials; use api_key_env", ErrOpenAIConfig)
	}
	switch {
	case d.API != APICompletions && d.API != APIChat:
		return fmt.Errorf("%w: api %q (want %q or %q)", ErrOpenAIConfig, d.API, APICompletions, APIChat)
	case d.Concurrency < 0:
		return fmt.Errorf("%w: concurrency %d < 0", ErrOpenAIConfig, d.Concurrency)
	case d.Timeout < 0 || d.BackoffBase < 0 || d.BackoffMax < 0:
		return fmt.Errorf("%w: timeout, backoff_base and backoff_max must be >= 0", ErrOpenAIConfig)
	case d.BackoffBase > d.BackoffMax:
		return fmt.Errorf("%w: backoff_base %v > backoff_max %v", ErrOpenAIConfig, d.BackoffBase, d.BackoffMax)
	}
	for i, s := range d.Stop {
		if s == "" {
			return fmt.Errorf("%w: stop[%d] is empty", ErrOpenAIConfig, i)
		}
	}
	if _, err := data.TemplateByName(d.Template); err != nil {
		return fmt.Errorf("%w: template: %w", ErrOpenAIConfig, err)
	}
	return nil
}
