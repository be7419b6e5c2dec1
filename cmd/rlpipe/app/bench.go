package app

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/bench"
)

func newBenchCmd() *cobra.Command {
	var (
		asJSON   bool
		duration time.Duration
		size     int
	)
	cmd := &cobra.Command{
		Use:   "bench [sgemm|train|generate|pipeline|elbo|bvpo]",
		Short: "Speed figures with ratios against the sgemm peak measured in the same run",
		Long: "bench measures this machine: sgemm GFLOP/s (the peak), a training step and batched\n" +
			"generation of the default policy (d=128, 4 layers, T=128), each as tokens/s, achieved\n" +
			"GFLOP/s and the ratio to the measured peak. bench pipeline (step time of a short RL job\n" +
			"against its slowest stage), bench elbo (ELBO estimators of a diffusion checkpoint) and\n" +
			"bench bvpo (DPO gradient estimators of BVPO's mixing) are subcommands with their own flags.",
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
			cfg := policy.DefaultConfig()
			peak := bench.Sgemm(size, duration)
			var rows []map[string]any
			add := func(name string, r bench.Result) error {
				if r.Err != nil {
					return fmt.Errorf("bench %s: %w", name, r.Err)
				}
				rows = append(rows, map[string]any{"bench": name, "tokens_per_s": r.TokensPerS, "gflops": r.GFLOPs,
					"peak_gflops": peak, "ratio_to_peak": r.GFLOPs / peak, "ms_per_iter": r.MsPerIter, "blas": r.BLAS})
				return nil
			}
			switch what {
			case "sgemm":
				rows = append(rows, map[string]any{"bench": "sgemm", "n": size, "gflops": peak, "peak_gflops": peak,
					"ratio_to_peak": 1.0, "blas": policy.BLASName})
			case "train":
				if err := add("train", bench.Train(cfg, 16, 128, duration)); err != nil {
					return err
				}
			case "generate":
				if err := add("generate", bench.Generate(cfg, 128, 32, 64, duration)); err != nil {
					return err
				}
			case "all":
				if err := add("train", bench.Train(cfg, 16, 128, duration)); err != nil {
					return err
				}
				if err := add("generate", bench.Generate(cfg, 128, 32, 64, duration)); err != nil {
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
				fmt.Fprintf(out, "%-9s %10.0f tokens/s  %7.1f GFLOP/s  %5.1f%% of peak  %.1f ms/iter\n",
					r["bench"], r["tokens_per_s"], r["gflops"], 100*r["ratio_to_peak"].(float64), r["ms_per_iter"])
			}
			return nil
		},
	}
	cmd.AddCommand(newBenchPipelineCmd(), newBenchELBOCmd())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per benchmark")
	cmd.Flags().DurationVar(&duration, "duration", 3*time.Second, "measuring time per benchmark")
	cmd.Flags().IntVar(&size, "n", 512, "sgemm matrix size")
	return cmd
}
