package policy

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// MetaModelConfig is the safetensors metadata key holding the model Config
// as JSON.
const MetaModelConfig = "rlpipe.model_config"

// Save writes the weights to path (safetensors, atomically, tensors in
// Params order) with meta plus the model Config under MetaModelConfig.
// The caller adds the tokenizer spec to meta. meta is not modified.
// Save only reads the weights; do not run an optimizer step concurrently.
func (m *Model) Save(path string, meta map[string]string) error {
	cfg, err := json.Marshal(m.cfg)
	if err != nil {
		return fmt.Errorf("policy: save %s: %w", path, err)
	}
	return m.save(path, meta, map[string]string{MetaModelConfig: string(cfg)})
}

// MetaModelKind is the safetensors metadata key naming the kind of model a
// file holds: absent or "autoregressive" for Model, ModelKindDiffusion for
// DiffusionModel. Load and LoadDiffusion refuse each other's files.
const MetaModelKind = "rlpipe.model_kind"

// Model kinds stored under MetaModelKind.
const (
	ModelKindAutoregressive = "autoregressive"
	ModelKindDiffusion      = "diffusion"
)

// Load reads a model written by Save. The Config comes from the
// MetaModelConfig metadata; every tensor the config implies must be present
// with exactly its shape, and no other tensor may be. It returns the full
// metadata (including MetaModelConfig). A file whose MetaModelKind is set
// to anything but "autoregressive" (e.g. a DiffusionModel's) is refused
// with ErrConfig.
func Load(path string) (*Model, map[string]string, error) {
	m, meta, err := loadWeights(path)
	if err != nil {
		return nil, nil, err
	}
	if k, ok := meta[MetaModelKind]; ok && k != ModelKindAutoregressive {
		return nil, nil, fmt.Errorf("%w: load %s: model kind %q is not %q (use LoadDiffusion for diffusion models)",
			ErrConfig, path, k, ModelKindAutoregressive)
	}
	return m, meta, nil
}

// loadWeights reads the Config and weights of a file written by Save,
// whatever its model kind.
func loadWeights(path string) (*Model, map[string]string, error) {
	ts, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: load %s: %w", path, err)
	}
	raw, ok := meta[MetaModelConfig]
	if !ok {
		return nil, nil, fmt.Errorf("%w: load %s: metadata has no %q", ErrConfig, path, MetaModelConfig)
	}
	var cfg Config
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, nil, fmt.Errorf("%w: load %s: metadata %q: %v", ErrConfig, path, MetaModelConfig, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("policy: load %s: %w", path, err)
	}
	m := newEmptyModel(cfg.WithDefaults())
	seen := map[string]bool{}
	for _, t := range ts {
		i, ok := m.index[t.Name]
		if !ok {
			return nil, nil, fmt.Errorf("%w: load %s: unexpected tensor %q", ErrConfig, path, t.Name)
		}
		if !slices.Equal(t.Shape, m.shapes[i]) || len(t.Data) != len(m.grad[i]) {
			return nil, nil, fmt.Errorf("%w: load %s: tensor %q has shape %v, config implies %v", ErrConfig, path, t.Name, t.Shape, m.shapes[i])
		}
		copy(m.w[i].Data().([]float32), t.Data)
		seen[t.Name] = true
	}
	for _, name := range m.names {
		if !seen[name] {
			return nil, nil, fmt.Errorf("%w: load %s: tensor %q missing", ErrConfig, path, name)
		}
	}
	return m, meta, nil
}
