package pipeline

import (
	"context"
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// EvalConfig configures held-out evaluation.
type EvalConfig struct {
	// Every evaluates every this many RL steps (0: only before and after).
	Every int `yaml:"every"`
	// N is the number of held-out problems. Default 400.
	N int `yaml:"n"`
	// Samples is K for sampled pass@1 and pass@K (0: greedy only).
	Samples int `yaml:"samples"`
	// Temperature is the sampling temperature of sampled evaluation. Default 1.
	Temperature float64 `yaml:"temperature"`
	// Verifier is the reward that decides correctness (score > 0.5).
	// Default "math".
	Verifier string `yaml:"verifier"`
}

// DefaultEvalConfig returns the documented defaults.
func DefaultEvalConfig() EvalConfig {
	return EvalConfig{N: 400, Temperature: 1, Verifier: "math"}
}

// Validate reports the first invalid field.
func (c EvalConfig) Validate() error {
	switch {
	case c.Every < 0:
		return fmt.Errorf("%w: eval.every %d < 0", ErrConfig, c.Every)
	case c.N < 1:
		return fmt.Errorf("%w: eval.n %d < 1", ErrConfig, c.N)
	case c.Samples < 0:
		return fmt.Errorf("%w: eval.samples %d < 0", ErrConfig, c.Samples)
	case c.Temperature < 0 || math.IsNaN(c.Temperature):
		return fmt.Errorf("%w: eval.temperature %v < 0", ErrConfig, c.Temperature)
	case c.Verifier == "":
		return fmt.Errorf("%w: eval.verifier is empty", ErrConfig)
	}
	return nil
}

// EvalResult is one row of eval.jsonl: held-out accuracy with its standard
// error over problems.
type EvalResult struct {
	Step  int64  `json:"step"`
	Split string `json:"split"`
	Mode  string `json:"mode"`
	// Accuracy is greedy pass@1; Stderr its standard error sqrt(p(1-p)/n).
	Accuracy float64 `json:"accuracy"`
	Stderr   float64 `json:"stderr"`
	N        int     `json:"n"`
	// SampledAccuracy is pass@1 averaged over Samples draws per problem, with
	// the standard error of the per-problem means.
	SampledAccuracy *float64 `json:"sampled_accuracy,omitempty"`
	SampledStderr   *float64 `json:"sampled_stderr,omitempty"`
	// PassAtK is the unbiased pass@K estimate (Chen et al. 2021) at K=Samples.
	PassAtK *float64 `json:"pass_at_k,omitempty"`
	K       int      `json:"k,omitempty"`
	// MeanLength is the mean greedy completion length in tokens.
	MeanLength float64 `json:"mean_length"`
	// PerProblem (greedy 0/1) and SampledPerProblem (pass@1 over the
	// samples) hold each problem's score, in prompt order, for paired
	// before → after comparisons (PairedDiff); not written to eval.jsonl.
	PerProblem, SampledPerProblem []float64 `json:"-"`
}

// PairedDiff returns the mean of after[i] − before[i] and its standard
// error over problems: the right error bar for a before → after change
// measured on the same problems, much tighter than the two unpaired
// errors combined. ok is false unless both hold the same number (≥ 2) of
// problems.
func PairedDiff(before, after []float64) (mean, stderr float64, ok bool) {
	if len(before) != len(after) || len(before) < 2 {
		return 0, 0, false
	}
	d := make([]float64, len(before))
	for i := range d {
		d[i] = after[i] - before[i]
	}
	mean, stderr = MeanStderr(d)
	return mean, stderr, true
}

// Evaluator scores a generator on held-out prompts.
type Evaluator struct {
	Generator *rollout.InProcess
	Verifier  reward.Func
	Prompts   []data.Prompt
	Config    EvalConfig
	MaxTokens int
	Seed      uint64
}

// Run evaluates in mode (data.ModeTrace or data.ModeEmpty) and labels the
// row with step.
func (e *Evaluator) Run(ctx context.Context, step int64, mode uint8) (EvalResult, error) {
	res := EvalResult{Step: step, Split: "test", Mode: modeName(mode), N: len(e.Prompts)}
	greedy, err := e.Generator.Generate(ctx, rollout.Request{Prompts: e.Prompts, G: 1, Modes: []uint8{mode},
		Seed: e.Seed, Step: -1, Params: data.GenParams{Greedy: true, MaxNewTokens: e.MaxTokens}})
	if err != nil {
		return res, err
	}
	correct, err := e.correct(ctx, greedy)
	if err != nil {
		return res, err
	}
	var hits, length float64
	res.PerProblem = make([]float64, len(correct))
	for i, ok := range correct {
		if ok {
			hits++
			res.PerProblem[i] = 1
		}
		length += float64(len(greedy[i].CompletionTokens))
	}
	n := float64(len(correct))
	res.Accuracy = hits / n
	res.Stderr = math.Sqrt(res.Accuracy * (1 - res.Accuracy) / n)
	res.MeanLength = length / n
	if k := e.Config.Samples; k > 0 {
		if err := e.sampled(ctx, &res, mode, k); err != nil {
			return res, err
		}
	}
	return res, nil
}

func (e *Evaluator) sampled(ctx context.Context, res *EvalResult, mode uint8, k int) error {
	rows, err := e.Generator.Generate(ctx, rollout.Request{Prompts: e.Prompts, G: k, Modes: []uint8{mode},
		Seed: e.Seed, Step: -2, Params: data.GenParams{Temperature: e.Config.Temperature, MaxNewTokens: e.MaxTokens}})
	if err != nil {
		return err
	}
	correct, err := e.correct(ctx, rows)
	if err != nil {
		return err
	}
	per := make([]float64, len(e.Prompts))
	passK := 0.0
	for p := range e.Prompts {
		c := 0
		for s := 0; s < k; s++ {
			if correct[p*k+s] {
				c++
			}
		}
		per[p] = float64(c) / float64(k)
		if c > 0 {
			passK++ // with n = k samples the unbiased pass@k is 1 iff any is right
		}
	}
	mean, se := MeanStderr(per)
	res.SampledPerProblem = per
	passK /= float64(len(e.Prompts))
	res.SampledAccuracy, res.SampledStderr, res.PassAtK, res.K = &mean, &se, &passK, k
	return nil
}

func (e *Evaluator) correct(ctx context.Context, rows []data.Rollout) ([]bool, error) {
	out := make([]reward.Result, len(rows))
	if err := e.Verifier.Score(ctx, reward.RolloutRows(rows), out); err != nil {
		return nil, fmt.Errorf("pipeline: eval verifier: %w", err)
	}
	ok := make([]bool, len(rows))
	for i, r := range out {
		ok[i] = r.OK() && r.Reward > 0.5
	}
	return ok, nil
}

// MeanStderr returns the mean of xs and its standard error (sample std /
// sqrt(n); 0 for n < 2): the ± of every eval figure, and of bench bvpo's
// MSEs (pipeline/bench).
func MeanStderr(xs []float64) (mean, stderr float64) {
	n := float64(len(xs))
	if n == 0 {
		return 0, 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= n
	if n < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / (n - 1) / n)
}

func modeName(mode uint8) string {
	if mode == data.ModeEmpty {
		return "empty"
	}
	return "trace"
}
