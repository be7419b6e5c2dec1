package policy

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// HFConfigFile is the model configuration of a Hugging Face model
// directory.
const HFConfigFile = "config.json"

// HFModel is a policy that is also a Hugging Face transformers model: it
// writes the model directory transformers, vLLM and llama.cpp's converter
// load (config.json plus safetensors weights under transformers' tensor
// names and layout). *LlamaModel implements it.
type HFModel interface {
	// HFConfig returns the config.json text.
	HFConfig() ([]byte, error)
	// SaveHF writes config.json and the weights into dir in dtype (F32,
	// BF16 or F16), sharded above maxShardBytes (0: one file), with meta in
	// every file's __metadata__ beside format "pt".
	SaveHF(dir string, dtype safetensors.Dtype, maxShardBytes int64, meta map[string]string) error
}

var _ HFModel = (*LlamaModel)(nil)

// IsHFDir reports whether dir holds a Hugging Face model configuration.
func IsHFDir(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, HFConfigFile))
	return err == nil
}

// LoadHFDir reads a pretrained Hugging Face model directory (config.json
// and model.safetensors or its shards in F32/BF16/F16) as a Trainable of
// the family its architectures entry names.
func LoadHFDir(dir string) (Trainable, error) {
	m, err := LoadLlama(dir)
	if err != nil {
		return nil, err
	}
	return m, nil
}

// HFConfig returns the model's config.json text.
func (m *LlamaModel) HFConfig() ([]byte, error) { return m.cfg.HFConfigJSON() }

// SaveHF writes the model as a Hugging Face model directory.
func (m *LlamaModel) SaveHF(dir string, dtype safetensors.Dtype, maxShardBytes int64, meta map[string]string) error {
	cfg, err := m.cfg.HFConfigJSON()
	if err != nil {
		return fmt.Errorf("policy: save %s: %w", dir, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("policy: save %s: %w", dir, err)
	}
	ts := make([]safetensors.Tensor, len(m.w))
	for i := range m.w {
		ts[i] = safetensors.Tensor{Name: m.names[i], Shape: m.shapes[i], Data: m.w[i].Data().([]float32)}
	}
	if err := safetensors.WriteCheckpoint(dir, ts, safetensors.WriteOptions{Dtype: dtype, Metadata: meta, MaxShardBytes: maxShardBytes}); err != nil {
		return fmt.Errorf("policy: save %s: %w", dir, err)
	}
	return safetensors.WriteFileAtomic(filepath.Join(dir, HFConfigFile), cfg)
}
