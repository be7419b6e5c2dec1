package app

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline/curate"
)

func newCurateCmd() *cobra.Command {
	var (
		cfg                     curate.Config
		out, checkpoint         string
		baseURL, model, tmpl    string
		concurrency             int
		minPass, maxPass        float64
		workers, logEverySecond int
	)
	cmd := &cobra.Command{
		Use: "curate --dataset SPEC --out FILE.parquet (--checkpoint DIR | --base-url URL [--model NAME]) [--n N] [--limit ROWS]\n" +
			"       [--reward SPEC] [--min-pass P] [--max-pass P] [--seed S] [--max-new-tokens N] [--temperature T] [--batch PROMPTS]",
		Short: "Score a dataset's prompts by pass rate and diversity (VPS) and write verl-style Parquet",
		Long: "curate rolls out --n samples for each prompt of --dataset (its first --limit rows) with a policy\n" +
			"checkpoint in this process or through an OpenAI-compatible server, verifies them with --reward\n" +
			"(correct: reward > 0.5), and writes the dataset as verl-compatible Parquet with the columns\n" +
			"pass_rate, ovs = P(1-P), tds = 1 - self-BLEU-123, vps = alpha*ovs + beta*tds and samples.\n\n" +
			"Progress is appended to FILE.parquet.progress.jsonl after every batch: rerunning the same\n" +
			"command after an interruption continues where it stopped, and with other --min-pass,\n" +
			"--max-pass, --alpha or --beta only rewrites the file. Delete the sidecar to start over.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cfg.Dataset == "" || out == "" {
				return usageErrorf("--dataset and --out are required")
			}
			if (checkpoint == "") == (baseURL == "") {
				return usageErrorf("give exactly one of --checkpoint DIR and --base-url URL")
			}
			f := cmd.Flags()
			cfg.Filter = f.Changed("min-pass") || f.Changed("max-pass")
			cfg.MinPass, cfg.MaxPass = minPass, maxPass
			cfg.Template, cfg.Workers = tmpl, workers
			if err := cfg.Validate(); err != nil {
				return usageError{err}
			}
			var (
				src *curate.Source
				err error
			)
			if checkpoint != "" {
				src, err = curate.InProcessSource(checkpoint, tmpl)
			} else {
				src, err = curate.RemoteSource(baseURL, model, tmpl, concurrency)
			}
			if err != nil {
				return asUsage(err)
			}
			if src.Close != nil {
				defer src.Close()
			}
			ctx, stop := notifyContext(cmd.Context())
			defer stop()
			res, err := curate.Run(ctx, cfg, src, curate.Options{Out: out, Log: cmd.ErrOrStderr(),
				LogEvery: secondsOf(logEverySecond)})
			if err != nil && ctx.Err() != nil && cmd.Context().Err() == nil {
				return curateInterrupted{err}
			}
			if err != nil {
				return asUsage(err)
			}
			rate := 0.0
			if s := res.Elapsed.Seconds(); s > 0 {
				rate = float64(res.Generated) / s
			}
			fmt.Fprintf(cmd.OutOrStdout(), "curated %d rows (%d resumed, %d rolled out at %.2f prompts/s, %d reward errors); "+
				"mean pass rate %.3f; wrote %d rows to %s\n",
				res.Rows, res.Resumed, res.Generated, rate, res.RewardErrors, res.MeanPassRate, res.Written, out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Dataset, "dataset", "", "dataset spec (gsm8k:test, math500, a .jsonl/.parquet path, ...)")
	f.StringVar(&out, "out", "", "output Parquet file")
	f.StringVar(&checkpoint, "checkpoint", "", "policy checkpoint or run directory (in-process rollouts)")
	f.StringVar(&baseURL, "base-url", "", "OpenAI-compatible API root including /v1 (remote rollouts)")
	f.StringVar(&model, "model", "", "served model name for --base-url (default: the first the server lists)")
	f.IntVar(&concurrency, "concurrency", 0, "in-flight HTTP requests for --base-url (default 8)")
	f.IntVar(&cfg.Samples, "n", curate.DefaultSamples, "rollouts per prompt")
	f.IntVar(&cfg.Limit, "limit", 0, "curate only the first ROWS rows (0: all)")
	f.StringVar(&cfg.Reward, "reward", curate.DefaultReward, "reward spec deciding correctness (reward > 0.5)")
	f.Float64Var(&minPass, "min-pass", 0, "keep only rows with pass rate >= P")
	f.Float64Var(&maxPass, "max-pass", 1, "keep only rows with pass rate <= P")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the rollouts (and of generated tasks)")
	f.IntVar(&cfg.Difficulty, "difficulty", 0, "difficulty of generated tasks (0: the task's default)")
	f.IntVar(&cfg.MaxNewTokens, "max-new-tokens", curate.DefaultMaxNewTokens, "completion budget")
	f.Float64Var(&cfg.Temperature, "temperature", curate.DefaultTemperature, "sampling temperature (> 0)")
	f.Float64Var(&cfg.TopP, "top-p", 1, "nucleus sampling threshold")
	f.IntVar(&cfg.Batch, "batch", curate.DefaultBatch, "prompts rolled out and recorded together")
	f.IntVar(&workers, "workers", 0, "concurrent generation calls per batch (default GOMAXPROCS)")
	f.Float64Var(&cfg.Alpha, "alpha", curate.DefaultAlpha, "weight of OVS in VPS (> 0)")
	f.Float64Var(&cfg.Beta, "beta", curate.DefaultBeta, "weight of TDS in VPS (> 0)")
	f.StringVar(&tmpl, "template", "", "prompt template: plain (default) or chat")
	f.IntVar(&logEverySecond, "log-every", 10, "seconds between progress lines when stderr is not a terminal")
	return cmd
}

// asUsage marks configuration and resume errors as usage errors (exit 2).
func asUsage(err error) error {
	if errors.Is(err, curate.ErrConfig) || errors.Is(err, curate.ErrResume) {
		return usageError{err}
	}
	return err
}

// curateInterrupted is a curation stopped by a signal: its finished batches
// are in the sidecar, and rerunning continues. Exit status 130.
type curateInterrupted struct{ err error }

func (e curateInterrupted) Error() string {
	return fmt.Sprintf("interrupted (%v); finished prompts are kept, rerun the same command to continue", e.err)
}
func (e curateInterrupted) Unwrap() error { return e.err }

// ExitCode is the process exit status of an interrupted curation.
func (curateInterrupted) ExitCode() int { return 130 }
