// Package score is the engine of `rlpipe score`: it reads completions from
// JSON lines, Parquet or Arrow IPC, scores them with a reward.Scorer in
// batches, and writes them back in the format the output's extension names,
// with reward, parts and error fields (JSON lines) or reward, reward_parts
// and reward_error columns (data.WithScores).
//
// Scoring follows the RL loop's rules (reward.Scorer.ScoreBatch): on_error
// applies to groups of rows within a batch (rows sharing a "group" value or
// prompt_id), max_error_rate to the whole input once every row is written,
// and a row error is kept on its row, never turned into a number silently.
// Run is the one entry point; cmd/rlpipe only parses flags and calls it.
package score
