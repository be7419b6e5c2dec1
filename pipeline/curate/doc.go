// Package curate scores a dataset for curriculum building: it rolls out N
// samples per prompt with a policy (in-process or through an
// OpenAI-compatible server), verifies them with a reward, and writes the
// dataset back as verl-compatible Parquet with per-prompt statistics
// (MMR1's Variance-Aware Sampling quantities, ALGORITHMS §2):
//
//	pass_rate P = (1/N) Σ_i [reward_i > 0.5]     binary verifier outcome
//	ovs         = P·(1 − P)                       outcome variance score
//	tds         = 1 − SelfBLEU-123(completion tokens)   trajectory diversity
//	vps         = α·ovs + β·tds                   (α = 0.8, β = 0.2 by default)
//
// Curation is resumable: every finished prompt is appended to a sidecar
// JSON-lines file (OUT.progress.jsonl, fsynced after each batch), a rerun
// skips the prompts already there, and the final Parquet file is written
// atomically from the sidecar at the end. Every random draw depends only on
// (seed, prompt_id, sample_idx), so a killed and resumed curation yields the
// same statistics as an uninterrupted one, whatever the batch size.
//
// The Parquet layout mirrors verl's (data_source, prompt as a chat list,
// ability, reward_model{ground_truth, style}, extra_info{index, ...}) plus a
// top-level prompt_id and the statistic columns, so the file loads back into
// rlpipe (data.OpenSpec keeps the prompt ids) and into verl and pyarrow. A
// dataset that already is a verl file keeps all its columns unchanged (the
// chat list with its system message, extra_info, agent_name, …) and gains
// only the statistic columns: rlpipe's prompt form cannot hold them all.
package curate
