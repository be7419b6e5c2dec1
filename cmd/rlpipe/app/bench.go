package app

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/bench"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// benchShape is what the train and generate benchmarks run: a model and
// its workload sizes.
type benchShape struct {
	model                        bench.Model
	name                         string
	batch, seqLen                int // training batch (sequences × tokens)
	streams, promptLen, newToken int // generation (8 samples per prompt)
}

// benchFlags are the workload flags; zero keeps the model's default.
type benchFlags struct {
	model                        string
	randomWeights                bool
	batch, seqLen                int
	streams, promptLen, newToken int
}

// shape builds the benchmarked model: the default policy (d=128, 4
// layers, B 16 × T 128, 128 streams × 64 new tokens), or the policy in
// --model (B 8 × T 512, 64 streams × 256 new tokens), optionally with
// random weights from its config.json alone.
func (f benchFlags) shape() (benchShape, error) {
	s := benchShape{name: "default", batch: 16, seqLen: 128, streams: 128, promptLen: 32, newToken: 64}
	switch {
	case f.model == "" && f.randomWeights:
		return s, usageErrorf("--random-weights needs --model DIR (a directory with config.json)")
	case f.model == "":
		m, err := policy.NewModel(policy.DefaultConfig())
		if err != nil {
			return s, err
		}
		s.model = m
	default:
		m, err := loadBenchModel(f.model, f.randomWeights)
		if err != nil {
			return s, err
		}
		s = benchShape{model: m, name: f.model, batch: 8, seqLen: 512, streams: 64, promptLen: 64, newToken: 256}
	}
	for _, o := range []struct {
		dst *int
		v   int
	}{{&s.batch, f.batch}, {&s.seqLen, f.seqLen}, {&s.streams, f.streams}, {&s.promptLen, f.promptLen}, {&s.newToken, f.newToken}} {
		if o.v < 0 {
			return s, usageErrorf("workload sizes must be positive, got %d", o.v)
		}
		if o.v > 0 {
			*o.dst = o.v
		}
	}
	if s.seqLen < 2 || s.promptLen < 1 {
		return s, usageErrorf("--seq-len must be at least 2 and --prompt-len at least 1")
	}
	return s, nil
}

// loadBenchModel reads a policy directory (rlpipe checkpoint or Hugging
// Face model), or with randomWeights only its config.json: speed does not
// depend on the weights, and a model's shape can be measured on a machine
// that does not hold them.
func loadBenchModel(dir string, randomWeights bool) (bench.Model, error) {
	var m policy.Trainable
	if randomWeights {
		path := filepath.Join(dir, policy.HFConfigFile)
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("bench --random-weights: %w", err)
		}
		cfg, err := policy.ParseLlamaConfig(raw, path)
		if err != nil {
			return nil, err
		}
		if m, err = policy.NewLlamaRandom(cfg, 1); err != nil {
			return nil, err
		}
	} else {
		pol, err := policyfile.Load(dir)
		if err != nil {
			return nil, err
		}
		m = pol.Model
	}
	bm, ok := m.(bench.Model)
	if !ok {
		return nil, fmt.Errorf("bench: %s is a %s policy; train and generate benchmarks measure causal policies", dir, m.Kind())
	}
	return bm, nil
}

func newBenchCmd() *cobra.Command {
	var (
		asJSON   bool
		duration time.Duration
		size     int
		bf       benchFlags
	)
	cmd := &cobra.Command{
		Use:   "bench [sgemm|train|generate|pipeline|elbo|bvpo]",
		Short: "Speed figures with ratios against the sgemm peak measured in the same run",
		Long: "bench measures this machine: sgemm GFLOP/s (the peak), a training step and batched\n" +
			"generation of the default policy (d=128, 4 layers, T=128), each as tokens/s, achieved\n" +
			"GFLOP/s, the ratio to the measured peak and the peak resident memory. --model DIR\n" +
			"measures a policy directory instead (an rlpipe checkpoint or a Hugging Face model;\n" +
			"with --random-weights only its config.json is read). bench pipeline (step time of a\n" +
			"short RL job against its slowest stage), bench elbo (ELBO estimators of a diffusion\n" +
			"checkpoint) and bench bvpo (DPO gradient estimators of BVPO's mixing) are subcommands\n" +
			"with their own flags.",
		Args:      cobra.MaximumNArgs(1),
		ValidArgs: []string{"sgemm", "train", "generate"},
		RunE: func(cmd *cobra.Command, args []string) error {
			what := "all"
			if len(args) == 1 {
				what = args[0]
			}
			switch what {
			case "all", "sgemm", "train", "generate":
			default:
				// Refused before the peak measurement, which takes --duration.
				want := []string{"sgemm", "train", "generate"}
				for _, sub := range cmd.Commands() {
					want = append(want, sub.Name())
				}
				return usageErrorf("unknown benchmark %q (want one of %s)", what, strings.Join(want, ", "))
			}
			var s benchShape
			if what != "sgemm" {
				var err error
				if s, err = bf.shape(); err != nil {
					return err
				}
			}
			return runBench(cmd, what, s, size, duration, asJSON)
		},
	}
	cmd.AddCommand(newBenchPipelineCmd(), newBenchELBOCmd())
	f := cmd.Flags()
	f.BoolVar(&asJSON, "json", false, "print one JSON object per benchmark")
	f.DurationVar(&duration, "duration", 3*time.Second, "measuring time per benchmark")
	f.IntVar(&size, "n", 512, "sgemm matrix size")
	f.StringVar(&bf.model, "model", "", "policy directory to measure (rlpipe checkpoint or Hugging Face model) instead of the default policy")
	f.BoolVar(&bf.randomWeights, "random-weights", false, "with --model: build the model from its config.json with random weights")
	f.IntVar(&bf.batch, "batch", 0, "training sequences per step (default 16, or 8 with --model)")
	f.IntVar(&bf.seqLen, "seq-len", 0, "training tokens per sequence (default 128, or 512 with --model)")
	f.IntVar(&bf.streams, "streams", 0, "generation streams, 8 samples per prompt (default 128, or 64 with --model)")
	f.IntVar(&bf.promptLen, "prompt-len", 0, "generation prompt tokens (default 32, or 64 with --model)")
	f.IntVar(&bf.newToken, "new-tokens", 0, "generated tokens per stream at most (default 64, or 256 with --model)")
	return cmd
}

// runBench measures the sgemm peak, then what (train, generate or all) on
// s, and prints each with its ratio to the peak.
func runBench(cmd *cobra.Command, what string, s benchShape, size int, duration time.Duration, asJSON bool) error {
	peak := bench.Sgemm(size, duration)
	var rows []map[string]any
	add := func(name string, r bench.Result) error {
		if r.Err != nil {
			return fmt.Errorf("bench %s: %w", name, r.Err)
		}
		rows = append(rows, map[string]any{"bench": name, "model": s.name, "tokens_per_s": r.TokensPerS, "gflops": r.GFLOPs,
			"peak_gflops": peak, "ratio_to_peak": r.GFLOPs / peak, "ms_per_iter": r.MsPerIter, "blas": r.BLAS,
			"peak_rss_bytes": r.PeakRSS})
		return nil
	}
	if what == "sgemm" {
		rows = append(rows, map[string]any{"bench": "sgemm", "n": size, "gflops": peak, "peak_gflops": peak,
			"ratio_to_peak": 1.0, "blas": policy.BLASName})
	}
	if what == "train" || what == "all" {
		if err := add("train", bench.TrainModel(s.model, s.batch, s.seqLen, duration)); err != nil {
			return err
		}
	}
	if what == "generate" || what == "all" {
		if err := add("generate", bench.GenerateModel(s.model, s.streams, s.promptLen, s.newToken, duration)); err != nil {
			return err
		}
	}
	out := cmd.OutOrStdout()
	if asJSON {
		enc := json.NewEncoder(out)
		if len(rows) == 1 {
			return enc.Encode(rows[0])
		}
		return enc.Encode(rows)
	}
	fmt.Fprintf(out, "sgemm peak (n=%d, %s): %.1f GFLOP/s\n", size, policy.BLASName, peak)
	for _, r := range rows {
		if r["bench"] == "sgemm" {
			continue
		}
		fmt.Fprintf(out, "%-9s %10.0f tokens/s  %7.1f GFLOP/s  %5.1f%% of peak  %.1f ms/iter  peak RSS %.0f MiB\n",
			r["bench"], r["tokens_per_s"], r["gflops"], 100*r["ratio_to_peak"].(float64), r["ms_per_iter"],
			float64(r["peak_rss_bytes"].(int64))/(1<<20))
	}
	return nil
}
