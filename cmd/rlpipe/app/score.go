package app

import (
	"context"
	"errors"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/score"
	"github.com/rlpipe/rlpipe/reward"
)

// scoreOptions are the flags of `rlpipe score`.
type scoreOptions struct {
	spec, config, in, out string
	batch                 int
	progress              string // auto | always | never
	explain               bool
}

func newScoreCmd() *cobra.Command {
	o := scoreOptions{}
	cmd := &cobra.Command{
		Use:   "score --reward SPEC [--config FILE] [--in FILE] [--out FILE]",
		Short: "Score completions with a built-in, composite or plugin reward",
		Long: `score reads rows {prompt?, completion, answer, meta?, completion_tokens?, group?}
and writes them back with reward, parts and error (JSONL), or with reward,
reward_parts and reward_error columns (Parquet, Arrow IPC; chosen by the
.parquet / .arrow / .ipc extension). JSONL on stdin/stdout by default.

SPEC examples: math | 0.9*math+0.1*format | length(max_len=4096,buffer=512)
  | subprocess:python3 examples/python_verifier/verifier.py
  | http:http://127.0.0.1:8080/score
--explain adds, per math part, what was extracted from completion and answer,
by which rule, their normal forms and the rule that decided (JSONL output).
--config takes a YAML reward config (parts, on_error, max_error_rate, timeout),
alone or under a top-level "reward:" key; --reward then replaces its parts.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			return runScore(ctx, o, cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.spec, "reward", "", "reward spec (see above)")
	f.StringVar(&o.config, "config", "", "YAML reward configuration file")
	f.StringVar(&o.in, "in", "-", "input file (.jsonl, .parquet, .arrow/.ipc; - for stdin JSONL)")
	f.StringVar(&o.out, "out", "-", "output file (format by extension; - for stdout JSONL)")
	f.IntVar(&o.batch, "batch", score.DefaultBatch, "rows scored per batch")
	f.StringVar(&o.progress, "progress", score.ProgressAuto, "progress bar on stderr: auto, always or never")
	f.BoolVar(&o.explain, "explain", false, "add to each JSON line an \"explain\" object: per math part, what was extracted, the normal forms and the deciding rule")
	return cmd
}

// rewardFlagsConfig reads the reward configuration of --config file (none
// when file is empty) and lets --reward spec replace its spec and parts;
// command names the subcommand in usage errors. The result may be empty.
func rewardFlagsConfig(command, file, spec string) (reward.Config, error) {
	var cfg reward.Config
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return cfg, usageErrorf("%s: %v", command, err)
		}
		if cfg, err = reward.LoadConfig(b); err != nil {
			return cfg, usageErrorf("%s: %s: %v", command, file, err)
		}
	}
	if spec != "" {
		cfg.Spec, cfg.Parts = spec, nil
	}
	return cfg, nil
}

// scoreConfig builds the reward configuration from --config and --reward.
func scoreConfig(o scoreOptions) (reward.Config, error) {
	cfg, err := rewardFlagsConfig("score", o.config, o.spec)
	if err != nil {
		return cfg, err
	}
	if cfg.Spec == "" && len(cfg.Parts) == 0 {
		return cfg, usageErrorf("score: give --reward SPEC or --config FILE (registered rewards: %s)", strings.Join(reward.Names(), ", "))
	}
	if o.batch <= 0 {
		return cfg, usageErrorf("score: --batch must be positive, got %d", o.batch)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageErrorf("score: %v", err)
	}
	return cfg, nil
}

func runScore(ctx context.Context, o scoreOptions, stdin io.Reader, stdout, stderr io.Writer) error {
	cfg, err := scoreConfig(o)
	if err != nil {
		return err
	}
	err = score.Run(ctx, score.Options{Reward: cfg, In: o.in, Out: o.out, Stdin: stdin, Stdout: stdout, Log: stderr,
		Batch: o.batch, Progress: o.progress, Explain: o.explain})
	if errors.Is(err, score.ErrUsage) {
		return usageError{err}
	}
	return err
}
