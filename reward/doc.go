// Package reward scores completions: a batch-oriented Func interface, a
// registry by name, built-in verifiers, weighted composition and plugins
// (subprocess JSON lines, HTTP, Go registration).
//
// It never touches model weights.
//
// # Scoring
//
// A Func scores a batch of Rows into Results; per-row failures are recorded
// in Result.Err with an ErrorKind, and a returned error means the whole
// batch failed. A Scorer, built from a Config (a spec such as
// "0.9*math+0.1*format" or explicit Parts), runs every part under the
// per-row timeout, turns NaN and ±Inf into errors, records each part's
// value before weighting in Result.Parts (reward_parts) and the weighted sum
// in Result.Reward, and applies the on_error policy (fail, drop_group or
// zero) and max_error_rate in ScoreGroups, returning Counts for metrics.
//
// An input scored in parts (a step's rollouts on several Flight workers, a
// file batch by batch) uses ScoreBatch or, for rollouts, ScoreRollouts: each
// part applies on_error to its groups and returns a Summary; the caller adds
// the Summaries up and applies max_error_rate once, with Summary.Err, to the
// whole input. The RL loop, the Flight reward workers and `rlpipe score` all
// score this way.
//
// # Built-ins
//
//   - math: Math-Verify-style extraction from free text (boxed answers
//     first, then the last LaTeX expression in $…$, \(…\), \[…\],
//     "Answer:" lines, then the last number) and equivalence with the
//     reference under MathOptions (precision, strict variables, set–relation
//     comparison): exact rationals, roots, π, tuples, intervals, sets,
//     relations, equations, matrices, percent, units. ExplainMath (and
//     `rlpipe score --explain`) shows how a verdict was reached; the rules
//     are in MATH_RULES.md.
//   - gsm8k: the number after "####" (or in <answer>, \boxed).
//   - countdown: an <answer> equation using each number once (TinyZero
//     scoring 0 / 0.1 / 1).
//   - format, length (DAPO overlong shaping), exact, regex.
//
// The rewards that compare with the reference — math, gsm8k, exact,
// countdown (unless meta has a "target") and regex with {answer} in its
// pattern — give a row with an empty or missing answer the error
// ErrNoAnswer, kind KindNoAnswer ("no_answer"), never a silent 0; format,
// length and regex without {answer} do not read the answer.
//
// # Custom rewards
//
// Register a Go reward with Register(name, Static(RowFunc(fn))) before
// building a Scorer; run any-language verifiers with the subprocess kind or
// call a service with the http kind (wire format in PROTOCOL.md). The
// rewardtest package checks any Func for conformance.
package reward
