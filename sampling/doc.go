// Package sampling chooses which prompts form each rollout batch: uniform,
// Variance-Aware Sampling (MMR1) and DAPO-style dynamic filtering, with state
// that checkpoints and resumes exactly.
//
// It neither generates nor scores.
package sampling
