package rollout

import (
	"context"
	"errors"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// ErrRequest reports an invalid generation request.
var ErrRequest = errors.New("rollout: invalid request")

// Model generates completions of token prompts. policy's models satisfy it;
// implementations must derive every random draw from (seed, PromptID,
// SampleIdx) so that results do not depend on how requests are batched.
type Model interface {
	Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error)
}

// Codec converts between text and a model's tokens.
type Codec interface {
	Encode(s string) []int32
	Decode(ids []int32) string
}

// Renderer turns a dataset prompt into the text a model continues, in trace
// mode (the model writes its reasoning) or empty-trace mode (the text ends
// with an empty trace and the model answers directly). A render error (a
// chat template that refuses the conversation) fails the generation.
type Renderer interface {
	Render(p data.Prompt, mode uint8) (string, error)
}

// Request asks for G completions of each prompt in each of Modes.
type Request struct {
	// Prompts are rolled out in order.
	Prompts []data.Prompt
	// G is the number of completions per prompt and mode (>= 1).
	G int
	// Modes lists the rollout modes; nil means trace mode only.
	Modes []uint8
	// Seed, Step and the row's (prompt_id, sample_idx, mode) determine every
	// random draw.
	Seed uint64
	Step int64
	// Round distinguishes repeated generations within one step (DAPO
	// refill rounds 1, 2, …; the pipeline's VAS full refresh uses −1); 0
	// for the first.
	Round int
	// PolicyVersion is recorded on every row.
	PolicyVersion int64
	// Params are the sampling parameters.
	Params data.GenParams
}

// Validate reports a malformed request.
func (r *Request) Validate() error {
	if r.G < 1 {
		return fmt.Errorf("%w: G = %d, want >= 1", ErrRequest, r.G)
	}
	for _, m := range r.Modes {
		if m != data.ModeTrace && m != data.ModeEmpty {
			return fmt.Errorf("%w: unknown mode %d", ErrRequest, m)
		}
	}
	return r.Params.Validate()
}

func (r *Request) modes() []uint8 {
	if len(r.Modes) == 0 {
		return []uint8{data.ModeTrace}
	}
	return r.Modes
}

// Rows returns how many rollouts the request produces.
func (r *Request) Rows() int { return len(r.Prompts) * len(r.modes()) * r.G }

// StepSeed derives the generation seed of one (step, round, mode) from the
// run seed, so that each step, refill round and mode draws fresh yet
// reproducible samples. It is rng.RolloutStepSeed.
func StepSeed(seed uint64, step int64, round int, mode uint8) uint64 {
	return rng.RolloutStepSeed(seed, step, round, mode)
}
