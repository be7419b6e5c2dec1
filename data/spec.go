package data

import (
	"context"
	"fmt"
	"os"
	"strings"
)

// verlBuiltin names the shipped verl-format GSM8K test file.
const verlBuiltin = "gsm8k-verl"

// OpenSpec opens a dataset named by spec, as the CLI and the run config
// write it:
//
//   - a shipped dataset "NAME[:SPLIT]": gsm8k (train default; gsm8k:test),
//     math500, svamp, countdown (all rows by default; ":train"/":test"
//     split them by IsHeldOut with Options.HeldOutFraction), and
//     gsm8k-verl (the shipped verl-format Parquet file);
//   - a generated task "TASK[:SPLIT]": arithmetic, countdown-gen (train by
//     default), with Options.N, Seed and Difficulty;
//   - a file path (.jsonl, .json, .parquet, .arrow, .arrows), read with
//     Options.Fields. A path is anything containing a path separator or a
//     file extension, or an existing file.
//
// The caller must Close the returned reader.
func OpenSpec(spec string, opts ...Option) (*PromptReader, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	if isPathSpec(spec) {
		return openPromptsFS(nil, spec, spec, o)
	}
	name, splitText, _ := strings.Cut(spec, ":")
	name = strings.ToLower(strings.TrimSpace(name))
	if name == verlBuiltin {
		return openPromptsFS(shipped, "datasets/verl-format/gsm8k_test.parquet", "verl-format/gsm8k_test.parquet", o)
	}
	if b, ok := builtins[name]; ok {
		split, err := ParseSplit(splitText, b.def)
		if err != nil {
			return nil, err
		}
		return openBuiltin(name, split, o)
	}
	if _, ok := taskGens[name]; ok {
		split, err := ParseSplit(splitText, SplitTrain)
		if err != nil {
			return nil, err
		}
		if split == SplitAll {
			return nil, fmt.Errorf("data: generated task %q needs split train or test", name)
		}
		return taskReader(name, split, o)
	}
	return nil, fmt.Errorf("data: unknown dataset %q (built-ins %v, %s; tasks %v; or a file path)",
		spec, BuiltinNames(), verlBuiltin, TaskNames())
}

// ReadSpec opens spec as OpenSpec does, reads every prompt (ReadAll) and
// closes the reader.
func ReadSpec(ctx context.Context, spec string, opts ...Option) ([]Prompt, error) {
	rd, err := OpenSpec(spec, opts...)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	return rd.ReadAll(ctx)
}

func isPathSpec(spec string) bool {
	if strings.ContainsAny(spec, `/\`) || FormatOf(spec) != FormatUnknown {
		return true
	}
	st, err := os.Stat(spec)
	return err == nil && !st.IsDir()
}
