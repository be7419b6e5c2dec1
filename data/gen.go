package data

import (
	"cmp"
	"errors"
	"fmt"
	"math"
)

// ErrGenParams reports invalid generation parameters.
var ErrGenParams = errors.New("data: invalid generation parameters")

// Defaults of GenParams' zero fields.
const (
	DefaultTemperature  = 1.0
	DefaultTopP         = 1.0
	DefaultMaxNewTokens = 64
)

// GenParams are the sampling parameters of one generation call. They live in
// data so that rollout (which asks) and policy (which answers) share them
// without importing each other.
//
// The zero value is usable: a zero Temperature means DefaultTemperature (1.0;
// use Greedy for argmax decoding), a zero TopP means 1 (no nucleus cut),
// TopK 0 means no top-k cut, a zero MaxNewTokens means DefaultMaxNewTokens,
// and no StopTokens means generation stops only at the model's end token or
// the budget. Call Resolved to get the effective values.
type GenParams struct {
	Temperature  float64
	TopP         float64
	TopK         int
	MaxNewTokens int
	StopTokens   []int32
	// Greedy selects argmax decoding; Temperature, TopP and TopK are ignored.
	Greedy bool
}

// Resolved returns a copy of p with the documented defaults filled in.
func (p GenParams) Resolved() GenParams {
	p.Temperature = cmp.Or(p.Temperature, DefaultTemperature)
	p.TopP = cmp.Or(p.TopP, DefaultTopP)
	p.MaxNewTokens = cmp.Or(p.MaxNewTokens, DefaultMaxNewTokens)
	return p
}

// Validate reports out-of-range parameters: Temperature must be finite and
// >= 0, TopP in [0, 1], TopK and MaxNewTokens >= 0, stop tokens >= 0.
func (p GenParams) Validate() error {
	switch {
	case math.IsNaN(p.Temperature) || math.IsInf(p.Temperature, 0) || p.Temperature < 0:
		return fmt.Errorf("%w: temperature %v", ErrGenParams, p.Temperature)
	case math.IsNaN(p.TopP) || p.TopP < 0 || p.TopP > 1:
		return fmt.Errorf("%w: top_p %v not in [0,1]", ErrGenParams, p.TopP)
	case p.TopK < 0:
		return fmt.Errorf("%w: top_k %d < 0", ErrGenParams, p.TopK)
	case p.MaxNewTokens < 0:
		return fmt.Errorf("%w: max_new_tokens %d < 0", ErrGenParams, p.MaxNewTokens)
	}
	for _, t := range p.StopTokens {
		if t < 0 {
			return fmt.Errorf("%w: stop token %d < 0", ErrGenParams, t)
		}
	}
	return nil
}

// GenRequest asks for one completion of PromptTokens. (PromptID, SampleIdx)
// identifies the sample and seeds its random draws, so results do not depend
// on batching or worker count. Mode is ModeTrace or ModeEmpty (informational:
// the empty-trace prefix is already part of PromptTokens).
type GenRequest struct {
	PromptID     uint64
	SampleIdx    int32
	Mode         uint8
	PromptTokens []int32
}

// GenResult is the completion of one GenRequest. Logprobs has one entry per
// token (behaviour policy log-probabilities) or is nil when the model cannot
// provide them. FinishReason is FinishStop or FinishLength.
type GenResult struct {
	Tokens       []int32
	Logprobs     []float32
	FinishReason string
}
