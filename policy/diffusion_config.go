package policy

import "fmt"

// DiffusionConfig configures the masked diffusion policy's generation
// (the run configuration's policy.diffusion, saved with the weights so
// that eval and bench generate on the canvas a policy was trained on).
type DiffusionConfig struct {
	// Canvas is the completion canvas length in tokens (the generation
	// budget of diffusion policies, replacing rollout.max_new_tokens).
	// Default 64.
	Canvas int `yaml:"canvas" json:"canvas"`
	// Steps, BlockLen and Remask configure iterative unmasking.
	Gen DiffusionGenConfig `yaml:"gen" json:"gen"`
}

// DefaultDiffusionConfig returns a canvas of 64 tokens unmasked in 16 steps
// as two semi-autoregressive blocks of 32 with low-confidence remasking.
//
// 64 is nearly three times the longest completion of the built-in tasks
// (23 tokens), so, as in LLaDA, most of the canvas is the <eos> tail the
// model learns to write after its answer. The canvas length decides how
// much GDPO's semi-deterministic ELBO estimate gains over double Monte
// Carlo: with exact-k masks, a double-MC pass pays the 1/t-amplified mask
// variance of every count k ~ U{1..L}, about L·σ²·(H_L − 1) (H_L the
// harmonic number), against about L·σ² for a gauss-2 pass, so the variance
// ratio at 2 passes falls as L grows (measured 0.6 on a 32-token canvas).
// It costs twice the 32-token canvas's SFT steps (pipeline's
// DiffusionSFTSteps).
func DefaultDiffusionConfig() DiffusionConfig {
	return DiffusionConfig{Canvas: 64, Gen: DiffusionGenConfig{Steps: 16, BlockLen: 32, Remask: RemaskLowConfidence}}
}

// LegacyDiffusionConfig is what every diffusion checkpoint written before
// rlpipe saved policy.diffusion with the weights was trained with: the
// default of that time, a 32-token canvas in 16 steps as one block.
func LegacyDiffusionConfig() DiffusionConfig {
	return DiffusionConfig{Canvas: 32, Gen: DiffusionGenConfig{Steps: 16, BlockLen: 32, Remask: RemaskLowConfidence}}
}

// Validate reports the first invalid field, wrapping ErrConfig.
func (c DiffusionConfig) Validate() error {
	if c.Canvas < 1 {
		return fmt.Errorf("%w: canvas %d < 1", ErrConfig, c.Canvas)
	}
	return c.Gen.Validate()
}
