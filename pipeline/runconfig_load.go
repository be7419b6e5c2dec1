package pipeline

import "github.com/rlpipe/rlpipe/pipeline/config"

// LoadRunConfig resolves a run configuration the way every job command
// does: the defaults, then the presets the documents and overrides ask for
// (algorithm.name, policy.kind, and the diffusion settings saved with
// policy.init), then the documents in order and the key=value overrides
// again, so that every explicit field wins over a preset; the result is
// validated.
func LoadRunConfig(docs []config.Doc, sets []string) (RunConfig, error) {
	// The presets to apply depend on keys the user may set anywhere, so
	// the documents are read once to find them.
	probe := DefaultRunConfig()
	if err := config.Load(&probe, docs, sets); err != nil {
		return RunConfig{}, err
	}
	cfg := DefaultRunConfig()
	cfg.Algorithm.Name, cfg.Policy.Kind = probe.Algorithm.Name, probe.Policy.Kind
	if err := cfg.ApplyPreset(); err != nil {
		return RunConfig{}, err
	}
	if err := cfg.ApplyInitPreset(probe.Policy.Init); err != nil {
		return RunConfig{}, err
	}
	if err := config.Load(&cfg, docs, sets); err != nil {
		return RunConfig{}, err
	}
	if err := cfg.Validate(); err != nil {
		return RunConfig{}, err
	}
	return cfg, nil
}
