// Package report turns a run directory (DESIGN §9) into PNG plots and a text
// summary: the implementation of `rlpipe report DIR`.
//
// It reads metrics.jsonl and eval.jsonl generically (each line decoded into a
// map[string]any) and picks numeric series by key path, so fields added to
// the pipeline's metrics later neither break the report nor need changes here
// until someone wants them plotted. Malformed lines are errors naming the
// file and the 1-based line number.
//
// The package only reads the run directory and writes into the report
// directory; it holds no global state, and Generate may be called from
// several goroutines for different output directories.
package report
