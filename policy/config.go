package policy

import (
	"cmp"
	"errors"
	"fmt"
)

// ErrConfig is wrapped by every error Config.Validate returns.
var ErrConfig = errors.New("policy: invalid model config")

// ErrInput is wrapped by errors about malformed batches or requests
// (empty prompts, sequences longer than the context, bad token ids).
var ErrInput = errors.New("policy: invalid input")

// Default model dimensions used when a Config field is zero.
const (
	DefaultLayers  = 4
	DefaultDModel  = 128
	DefaultHeads   = 4
	DefaultDFF     = 512
	DefaultContext = 128
	DefaultVocab   = 264
)

// Config describes a causal (or bidirectional) pre-LN transformer.
//
// The zero value is usable: WithDefaults fills Layers 4, DModel 128, Heads 4,
// DFF 512 (4·DModel), Context 128, Vocab 264 (the byte tokenizer),
// Activation "gelu" and Positions "learned". Causal has no default: the
// zero value false means bidirectional attention, so autoregressive callers
// must set it (DefaultConfig does).
type Config struct {
	Layers     int    `yaml:"layers" json:"layers"`
	DModel     int    `yaml:"d_model" json:"d_model"`
	Heads      int    `yaml:"heads" json:"heads"`
	DFF        int    `yaml:"d_ff" json:"d_ff"`
	Context    int    `yaml:"context" json:"context"`
	Vocab      int    `yaml:"vocab" json:"vocab"`
	Activation string `yaml:"activation" json:"activation"` // "gelu" (tanh approximation) or "relu"
	Positions  string `yaml:"positions" json:"positions"`   // "learned" (absolute table) or "rotary" (RoPE, base 10000)
	Causal     bool   `yaml:"causal" json:"causal"`
	InitSeed   uint64 `yaml:"init_seed" json:"init_seed"`
}

// DefaultConfig returns the default autoregressive policy configuration.
func DefaultConfig() Config {
	return Config{Causal: true}.WithDefaults()
}

// WithDefaults returns c with every zero field replaced by its default.
func (c Config) WithDefaults() Config {
	c.Layers = cmp.Or(c.Layers, DefaultLayers)
	c.DModel = cmp.Or(c.DModel, DefaultDModel)
	c.Heads = cmp.Or(c.Heads, DefaultHeads)
	if c.DFF == 0 {
		c.DFF = 4 * c.DModel
	}
	c.Context = cmp.Or(c.Context, DefaultContext)
	c.Vocab = cmp.Or(c.Vocab, DefaultVocab)
	c.Activation = cmp.Or(c.Activation, "gelu")
	c.Positions = cmp.Or(c.Positions, "learned")
	return c
}

// Validate reports the first problem of c after defaults are applied.
func (c Config) Validate() error {
	c = c.WithDefaults()
	bad := func(field string, format string, args ...any) error {
		return fmt.Errorf("%w: field %q: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	switch {
	case c.Layers < 0 || c.Layers > 64:
		return bad("layers", "%d outside [1, 64]", c.Layers)
	case c.DModel < 0:
		return bad("d_model", "%d is negative", c.DModel)
	case c.Heads < 0 || c.DModel%c.Heads != 0:
		return bad("heads", "%d does not divide d_model %d", c.Heads, c.DModel)
	case c.Positions == "rotary" && (c.DModel/c.Heads)%2 != 0:
		return bad("positions", "rotary needs an even head size, got %d", c.DModel/c.Heads)
	case c.DFF < 0:
		return bad("d_ff", "%d is negative", c.DFF)
	case c.Context < 2:
		return bad("context", "%d is below 2", c.Context)
	case c.Vocab < 8:
		return bad("vocab", "%d is below 8 (special tokens)", c.Vocab)
	case c.Activation != "gelu" && c.Activation != "relu":
		return bad("activation", "%q is not gelu or relu", c.Activation)
	case c.Positions != "learned" && c.Positions != "rotary":
		return bad("positions", "%q is not learned or rotary", c.Positions)
	}
	return nil
}

// headDim is DModel/Heads.
func (c Config) headDim() int { return c.DModel / c.Heads }
