package app

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/safetensors"
)

func newExportCmd() *cobra.Command {
	var checkpoint, format, out, dtype string
	var maxShardMB int64
	cmd := &cobra.Command{
		Use:   "export --checkpoint DIR --format hf --out DIR [--dtype bf16|f16|f32] [--max-shard-mb N]",
		Short: "Write a checkpoint of an hf policy as a Hugging Face model directory",
		Long: "export writes the policy of --checkpoint (a checkpoint or run directory) as a Hugging Face\n" +
			"model directory — config.json, model.safetensors (or shards with model.safetensors.index.json),\n" +
			"tokenizer.json, tokenizer_config.json, generation_config.json — that transformers, vLLM and\n" +
			"llama.cpp's converter load as is. Only policy.kind hf exports to this format.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if checkpoint == "" || out == "" {
				return usageErrorf("--checkpoint and --out are required")
			}
			if format != "hf" {
				return usageErrorf("--format %q: want hf", format)
			}
			dt := safetensors.Dtype(strings.ToUpper(dtype))
			if dt != safetensors.F32 && dt != safetensors.BF16 && dt != safetensors.F16 {
				return usageErrorf("--dtype %q: want bf16, f16 or f32", dtype)
			}
			if maxShardMB < 0 {
				return usageErrorf("--max-shard-mb %d: want >= 0", maxShardMB)
			}
			pol, err := policyfile.Load(checkpoint)
			if err != nil {
				return usageError{err}
			}
			if err := pol.ExportHF(out, dt, maxShardMB<<20); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "exported %s policy to %s (%s)\n", pol.Kind(), out, dt)
			return err
		},
	}
	cmd.Flags().StringVar(&checkpoint, "checkpoint", "", "checkpoint or run directory of an hf policy")
	cmd.Flags().StringVar(&format, "format", "hf", "output format (hf: a Hugging Face model directory)")
	cmd.Flags().StringVar(&out, "out", "", "output directory")
	cmd.Flags().StringVar(&dtype, "dtype", "bf16", "weight dtype: bf16, f16 or f32")
	cmd.Flags().Int64Var(&maxShardMB, "max-shard-mb", 0, "shard the weights above this many MB (0: one file)")
	return cmd
}
