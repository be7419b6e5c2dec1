// Package data owns rlpipe's Arrow batch schemas (prompts, rollouts, scored
// and train batches), the dataset readers and writers (JSONL, Parquet incl.
// verl-style rows, Arrow IPC), the built-in tasks and the prompt templates.
//
// It knows nothing about models or training; every other package depends on
// it and never names a column with a string literal of its own.
package data
