package app

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/pipeline/config"
)

// configFlags are the flags every job command shares.
type configFlags struct {
	files []string
	sets  []string
}

func (f *configFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringArrayVar(&f.files, "config", nil, "YAML configuration file (repeatable; later files win)")
	cmd.Flags().StringArrayVar(&f.sets, "set", nil, "override one key, e.g. --set rollout.g=16 (repeatable)")
}

// load builds the run configuration: the embedded defaults, the presets of
// algorithm.name and policy.kind, the diffusion settings saved with
// policy.init, then the files and --set overrides. Errors are usage
// errors (exit status 2).
func (f *configFlags) load() (pipeline.RunConfig, error) {
	docs := make([]config.Doc, 0, len(f.files))
	for _, path := range f.files {
		b, err := os.ReadFile(path)
		if err != nil {
			return pipeline.RunConfig{}, usageError{err}
		}
		docs = append(docs, config.Doc{Name: path, Data: b})
	}
	cfg, err := pipeline.LoadRunConfig(docs, f.sets)
	if err != nil {
		return pipeline.RunConfig{}, usageError{err}
	}
	return cfg, nil
}

// writeResolved writes the resolved configuration into dir/config.yaml.
// Literal http reward header values are redacted (reward.Config.Redacted).
func writeResolved(dir string, cfg pipeline.RunConfig) error {
	cfg.Reward = cfg.Reward.Redacted()
	b, err := config.Marshal(cfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(dir, "config.yaml.tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, "config.yaml"))
}

func newConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Configuration utilities"}
	var flags configFlags
	def := &cobra.Command{
		Use:   "default",
		Short: "Print the embedded default configuration (with --config/--set applied)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := flags.load()
			if err != nil {
				return err
			}
			b, err := config.Marshal(cfg)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	}
	flags.register(def)
	cmd.AddCommand(def)
	return cmd
}
