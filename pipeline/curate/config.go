package curate

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// ErrConfig reports an invalid Config.
var ErrConfig = errors.New("curate: invalid config")

// ErrResume reports a sidecar that cannot be continued: it was written by a
// curation with different settings, for a different dataset, or is corrupt.
var ErrResume = errors.New("curate: cannot resume")

// ErrIncomplete reports prompts that got no sample (every request for them
// failed); rerunning the same command retries exactly those prompts.
var ErrIncomplete = errors.New("curate: some prompts got no samples")

// Defaults of Config's zero fields.
const (
	DefaultSamples      = 8
	DefaultReward       = "math"
	DefaultMaxNewTokens = 96
	DefaultTemperature  = 1.0
	DefaultBatch        = 16
	// DefaultAlpha and DefaultBeta weigh OVS and TDS in VPS (MMR1 main text
	// and Table 6; ALGORITHMS §2.3).
	DefaultAlpha = 0.8
	DefaultBeta  = 0.2
)

// Config configures a curation. The zero value (with Dataset set) is
// usable: every zero field takes the documented default.
type Config struct {
	// Dataset is a data.OpenSpec spec ("gsm8k:test", a file path, ...).
	Dataset string `json:"dataset"`
	// Difficulty and Seed also select generated tasks (arithmetic, ...).
	Difficulty int `json:"difficulty,omitempty"`
	// Limit curates only the first Limit rows (0: all; generated tasks then
	// have data.DefaultN rows).
	Limit int `json:"-"`
	// Samples is N, the rollouts per prompt (default 8).
	Samples int `json:"samples"`
	// Reward is the reward spec deciding correctness, reward > 0.5
	// (default "math"). A row whose reward fails counts as incorrect.
	Reward string `json:"reward"`
	// Filter keeps only rows whose pass rate lies in [MinPass, MaxPass];
	// without it every row is written.
	Filter           bool    `json:"-"`
	MinPass, MaxPass float64 `json:"-"`
	// Seed seeds every rollout: sample s of prompt id p draws from a
	// stream keyed by (Seed, p, s).
	Seed uint64 `json:"seed"`
	// MaxNewTokens bounds completions (default 96).
	MaxNewTokens int `json:"max_new_tokens"`
	// Temperature and TopP are the sampling parameters (defaults 1 and 1;
	// a zero Temperature means the default, not greedy).
	Temperature float64 `json:"temperature"`
	TopP        float64 `json:"top_p"`
	// Template renders prompts ("plain" default, or "chat").
	Template string `json:"template"`
	// Batch is how many prompts are rolled out, scored and recorded
	// together (default 16); the sidecar is fsynced once per batch.
	Batch int `json:"-"`
	// Workers is how many generation calls run at once, each on a
	// contiguous share of a batch's prompts (default GOMAXPROCS).
	Workers int `json:"-"`
	// Alpha and Beta weigh OVS and TDS in VPS (defaults 0.8 and 0.2; both
	// must be > 0 as in MMR1). They are applied when the Parquet file is
	// written, so changing them needs no new rollouts.
	Alpha float64 `json:"-"`
	Beta  float64 `json:"-"`
}

// withDefaults returns c with zero fields replaced by their defaults.
func (c Config) withDefaults() Config {
	c.Samples = cmp.Or(c.Samples, DefaultSamples)
	c.Reward = cmp.Or(c.Reward, DefaultReward)
	c.MaxNewTokens = cmp.Or(c.MaxNewTokens, DefaultMaxNewTokens)
	c.Temperature = cmp.Or(c.Temperature, DefaultTemperature)
	c.TopP = cmp.Or(c.TopP, 1)
	c.Template = cmp.Or(c.Template, data.TemplatePlain)
	c.Batch = cmp.Or(c.Batch, DefaultBatch)
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	c.Alpha = cmp.Or(c.Alpha, DefaultAlpha)
	c.Beta = cmp.Or(c.Beta, DefaultBeta)
	return c
}

// Validate reports the first invalid field (after defaults), wrapping
// ErrConfig.
func (c Config) Validate() error {
	d := c.withDefaults()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrConfig}, args...)...)
	}
	switch {
	case strings.TrimSpace(d.Dataset) == "":
		return bad("dataset is empty")
	case d.Limit < 0:
		return bad("limit %d < 0", d.Limit)
	case d.Samples < 1:
		return bad("samples %d < 1", d.Samples)
	case d.MaxNewTokens < 1:
		return bad("max_new_tokens %d < 1", d.MaxNewTokens)
	case !(d.Temperature > 0) || math.IsInf(d.Temperature, 0):
		return bad("temperature %v must be finite and > 0", d.Temperature)
	case !(d.TopP > 0 && d.TopP <= 1):
		return bad("top_p %v not in (0, 1]", d.TopP)
	case d.Batch < 1 || d.Workers < 1:
		return bad("batch %d and workers %d must be >= 1", d.Batch, d.Workers)
	case !(d.Alpha > 0) || !(d.Beta > 0) || math.IsInf(d.Alpha, 0) || math.IsInf(d.Beta, 0):
		return bad("alpha %v and beta %v must be finite and > 0", d.Alpha, d.Beta)
	case d.Filter && !(0 <= d.MinPass && d.MinPass <= d.MaxPass && d.MaxPass <= 1):
		return bad("pass-rate filter [%v, %v] is not a range within [0, 1]", d.MinPass, d.MaxPass)
	}
	if _, err := data.TemplateByName(d.Template); err != nil {
		return bad("%v", err)
	}
	if err := (reward.Config{Spec: d.Reward}).Validate(); err != nil {
		return fmt.Errorf("%w: reward: %w", ErrConfig, err)
	}
	return nil
}

// keep reports whether a row with pass rate p passes the filter.
func (c Config) keep(p float64) bool {
	return !c.Filter || (p >= c.MinPass && p <= c.MaxPass)
}
