// Package sampling chooses which prompts form each rollout batch: uniform,
// Variance-Aware Sampling (MMR1) and DAPO-style dynamic filtering, with state
// that checkpoints and resumes exactly.
//
// It neither generates nor scores.
//
// # Samplers
//
// [New] builds a [Sampler] from a [Config] over the pool's prompt IDs;
// [Sampler.Next] returns indices into that pool. [Uniform] walks epochs of a
// seeded shuffle without replacement (the data cursor is (epoch, offset); a
// batch may straddle two epochs). [VAS] mixes floor(λ·B) prompts drawn with
// replacement by weight with B − floor(λ·B) from the same epoch cursor.
//
// VAS follows ALGORITHMS.md §2 with rlpipe's choices of §7:
//
//	P   = mean binary verifier outcome of the prompt's latest group(s)
//	OVS = P(1−P)                       (not 4·P(1−P); max 0.25)
//	TDS = 1 − selfBLEU-123 by default  (distinct_3, edit_distance, mmr1_code_selfbleu selectable)
//	VPS = α·OVS + β·TDS                (α = 0.8, β = 0.2)
//	W   = μ·W_old + (1−μ)·(VPS − min)/(max − min + 1e-8)   over the observed prompts
//	p(x) ∝ max(W, w_min); never-observed prompts get the mean; all-equal VPS → uniform
//
// Deviations from MMR1's code, on purpose: TDS increases with diversity
// (MMR1's code adds raw self-BLEU; available as mmr1_code_selfbleu);
// padding is never part of the n-gram and edit-distance metrics (callers
// pass completion tokens with padding stripped); statistics are updated
// incrementally from the training groups (refresh: full restores MMR1's
// whole-dataset re-rolls through [Refresher], chunk by chunk and resumable;
// training groups then never move the weights); the minimum weight is
// floored.
//
// # Determinism
//
// Every draw comes from a SplitMix64 stream (package data/rng) keyed by
// rng.Key(seed, purpose, …): the epoch permutation by (seed, "epoc", epoch), the weighted
// draws of a Next call by (seed, "vpsw", step, number of earlier Next
// calls). No global RNG is used. Results depend only on the sequence of
// calls, never on worker count; [Checkpointer.SaveState] and
// [Checkpointer.LoadState] carry the whole state (an Arrow IPC stream of
// data.SamplerStatsSchema with the scalar state as JSON under
// [StateMetaKey]), so a resumed run picks bit-identically.
//
// # Filtering
//
// [GroupFilter] is DAPO's dynamic sampling: groups whose binary accuracy
// has zero variance are dropped and replaced by newly sampled prompts, for
// at most max_refill_rounds extra rounds; see the loop in its doc.
package sampling
