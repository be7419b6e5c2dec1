package rollout

import (
	"context"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
)

// InProcess generates rollouts with a model running in this process.
//
// Rows come out ordered by prompt, then mode, then sample index, whatever the
// batching. InProcess is safe for concurrent use when its Model is.
type InProcess struct {
	Model    Model
	Codec    Codec
	Renderer Renderer
	// MaxBatch bounds how many sequences go to one Model.Generate call
	// (0 means all of a request's rows at once).
	MaxBatch int
}

// Generate rolls out req and returns req.Rows() rollouts.
func (g *InProcess) Generate(ctx context.Context, req Request) ([]data.Rollout, error) {
	if err := req.Validate(); err != nil {
		return nil, err
	}
	modes := req.modes()
	out := make([]data.Rollout, 0, req.Rows())
	for _, mode := range modes {
		// One seed per (step, mode); the model keys each sequence's stream
		// by (prompt_id, sample_idx) under it.
		seed := StepSeed(req.Seed, req.Step, req.Round, mode)
		reqs := make([]data.GenRequest, 0, len(req.Prompts)*req.G)
		rows := make([]data.Rollout, 0, len(req.Prompts)*req.G)
		for _, p := range req.Prompts {
			text, err := g.Renderer.Render(p, mode)
			if err != nil {
				return nil, fmt.Errorf("rollout: prompt %d: %w", p.ID, err)
			}
			tokens := g.Codec.Encode(text)
			for s := 0; s < req.G; s++ {
				reqs = append(reqs, data.GenRequest{PromptID: p.ID, SampleIdx: int32(s), Mode: mode, PromptTokens: tokens})
				rows = append(rows, data.Rollout{
					PromptID: p.ID, Dataset: p.Dataset, Prompt: p.Prompt, Answer: p.Answer, Meta: p.Meta,
					SampleIdx: int32(s), Mode: mode, PolicyVersion: req.PolicyVersion, PromptTokens: tokens,
				})
			}
		}
		if err := g.fill(ctx, seed, reqs, rows, req.Params); err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	return reorder(out, len(req.Prompts), len(modes), req.G), nil
}

func (g *InProcess) fill(ctx context.Context, seed uint64, reqs []data.GenRequest, rows []data.Rollout, p data.GenParams) error {
	step := g.MaxBatch
	if step <= 0 {
		step = len(reqs)
	}
	for lo := 0; lo < len(reqs); lo += step {
		hi := min(lo+step, len(reqs))
		res, err := g.Model.Generate(ctx, seed, reqs[lo:hi], p)
		if err != nil {
			return fmt.Errorf("rollout: generating: %w", err)
		}
		if len(res) != hi-lo {
			return fmt.Errorf("rollout: model returned %d results for %d requests", len(res), hi-lo)
		}
		for i, r := range res {
			row := &rows[lo+i]
			row.CompletionTokens = r.Tokens
			row.Completion = g.Codec.Decode(r.Tokens)
			row.Logprobs = r.Logprobs
			row.FinishReason = r.FinishReason
		}
	}
	return nil
}

// reorder turns mode-major rows (mode, prompt, sample) into prompt-major
// rows (prompt, mode, sample), the order groups are consumed in.
func reorder(rows []data.Rollout, prompts, modes, g int) []data.Rollout {
	if modes == 1 {
		return rows
	}
	out := make([]data.Rollout, 0, len(rows))
	for p := 0; p < prompts; p++ {
		for m := 0; m < modes; m++ {
			base := (m*prompts + p) * g
			out = append(out, rows[base:base+g]...)
		}
	}
	return out
}
