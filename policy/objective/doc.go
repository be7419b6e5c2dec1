// Package objective holds the objective math of rlpipe's learners: group
// advantages, the GRPO-family clipped surrogate (GRPO, Dr. GRPO, DAPO) with KL
// estimators (in the loss, or in the reward with [KLInReward]) and loss
// aggregation, DPO on pairs, BVPO loss mixing with an optional estimated
// mixing weight, and the GDPO/ELBO machinery for masked diffusion LMs
// (quadrature plans, exact-k masks, sequence-level ratios, and diffu-GRPO's
// per-token ratios of one-step log-probs).
//
// Everything here is plain float64 math on per-token or per-sequence arrays;
// there is no autodiff. A model computes the per-token log-probabilities
// ℓ[i][t] of completion tokens, calls one of the loss functions, and
// back-propagates the returned upstream gradient dL/dℓ[i][t] through its own
// graph. Formulas, reference choices and golden values come from
// /work/shared/ALGORITHMS.md (§1 GRPO family, §3 GDPO, §4 BVPO, §7 rlpipe
// defaults); every doc comment names the section it implements.
//
// Shapes: a batch is B rows (sequences), each a slice of per-token values.
// Rows may be ragged; the mask row must have the same length as the value
// row, and the padded width T is the longest row. Masks are float64 0/1
// weights (a fractional mask is a per-token weight, as verl's
// rollout_is_weights).
//
// Randomness (GDPO masks, mini-batch shuffles) never uses global state: every
// draw comes from a SplitMix64 stream keyed by a hash of (seed, ids...,
// purpose), see [Key] and [Stream] (package data/rng), so results do not depend on scheduling or
// worker count.
//
// Concurrency: functions are pure and safe for concurrent use on distinct
// destination slices. [AlphaEstimator] holds state and is not safe for
// concurrent use.
package objective
