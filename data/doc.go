// Package data owns rlpipe's Arrow batch schemas (prompts, rollouts, scored
// and train batches), the dataset readers and writers (JSONL, Parquet incl.
// verl-style rows, Arrow IPC), the built-in tasks and the prompt templates.
//
// It knows nothing about models or training; every other package depends on
// it and never names a column with a string literal of its own.
//
// Batches: PromptsSchema, RolloutsSchema, ScoredSchema and TrainSchema with
// the Col* constants; NewXRecord builds a record from row structs (the
// caller owns the one reference) and XFromRecord converts back into rows
// that own their memory. GenParams, GenRequest and GenResult are the
// generation types shared by rollout and policy.
//
// Other files: WithScores appends the scored columns to any record (what
// `rlpipe score` writes), CompletionRowsSchema describes completions read
// from JSON lines, and CuratedSchema is the verl-style Parquet layout that
// `rlpipe curate` writes.
//
// Datasets: OpenSpec resolves "gsm8k:test", "arithmetic", a file path, ...
// into a PromptReader that streams []Prompt batches (io.EOF at the end), so
// files of any size read in bounded memory. RecordReader and RecordWriter
// stream raw Arrow batches from and to Parquet, Arrow IPC and JSONL files;
// Inspect summarizes any such file. Errors locate the bad row (RowError).
package data
