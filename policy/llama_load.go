package policy

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// LoadLlama reads a Hugging Face model directory: dir/config.json
// (ParseLlamaConfig) and the weights (readLlamaWeights). Every tensor the
// config implies must be present with its exact shape and no other may be,
// except the non-persistent rotary buffers some old checkpoints carry
// (*.rotary_emb.inv_freq, ignored) and an lm_head.weight equal to the
// embedding in a tied model.
func LoadLlama(dir string) (*LlamaModel, error) {
	file := filepath.Join(dir, "config.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("policy: load %s: %w", dir, err)
	}
	cfg, err := ParseLlamaConfig(raw, file)
	if err != nil {
		return nil, err
	}
	ts, source, err := readLlamaWeights(dir)
	if err != nil {
		return nil, err
	}
	m := newEmptyLlama(cfg)
	if err := m.assign(ts, source); err != nil {
		return nil, err
	}
	return m, nil
}

// readLlamaWeights is the one place that reads a model directory's
// weights: model.safetensors or a sharded model.safetensors.index.json
// set, in F32, BF16 or F16 (safetensors.Open), each tensor converted to
// float32 exactly. It returns every tensor and the path it came from (for
// errors). Peak memory is the float32 model plus one tensor's buffer.
func readLlamaWeights(dir string) ([]safetensors.Tensor, string, error) {
	ck, err := safetensors.Open(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", fmt.Errorf("policy: load %s: no model.safetensors or model.safetensors.index.json: %w", dir, err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("policy: load %s: %w", dir, err)
	}
	defer ck.Close()
	names := ck.Names()
	ts := make([]safetensors.Tensor, 0, len(names))
	for _, name := range names {
		info, _ := ck.Info(name)
		data, err := ck.ReadFloat32(name, nil)
		if err != nil {
			return nil, "", fmt.Errorf("policy: load %s: %w", dir, err)
		}
		ts = append(ts, safetensors.Tensor{Name: name, Shape: info.Shape, Data: data})
	}
	return ts, dir, nil
}

// LoadLlamaFile reads a file written by LlamaModel.Save: the config comes
// from its MetaModelConfig metadata (config.json text). It returns the
// file's metadata. The Family's Load.
func LoadLlamaFile(path string) (*LlamaModel, map[string]string, error) {
	ts, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("policy: load %s: %w", path, err)
	}
	if k := meta[MetaModelKind]; k != FileKindHFLlama {
		return nil, nil, fmt.Errorf("%w: load %s: model kind %q is not %q", ErrConfig, path, k, FileKindHFLlama)
	}
	raw, ok := meta[MetaModelConfig]
	if !ok {
		return nil, nil, fmt.Errorf("%w: load %s: metadata has no %q", ErrConfig, path, MetaModelConfig)
	}
	cfg, err := ParseLlamaConfig([]byte(raw), path+" metadata "+MetaModelConfig)
	if err != nil {
		return nil, nil, err
	}
	m := newEmptyLlama(cfg)
	if err := m.assign(ts, path); err != nil {
		return nil, nil, err
	}
	return m, meta, nil
}

// assign copies ts into the model's buffers, checking names and shapes.
func (m *LlamaModel) assign(ts []safetensors.Tensor, source string) error {
	seen := map[string]bool{}
	var lmHead *safetensors.Tensor
	for k := range ts {
		t := &ts[k]
		i, ok := m.index[t.Name]
		switch {
		case !ok && strings.HasSuffix(t.Name, ".rotary_emb.inv_freq"):
			continue
		case !ok && t.Name == "lm_head.weight" && m.cfg.TieWordEmbeddings:
			lmHead = t
			continue
		case !ok:
			return fmt.Errorf("%w: load %s: unexpected tensor %q (not in a %s with this config)", ErrConfig, source, t.Name, m.cfg.Architecture)
		case !slices.Equal(t.Shape, m.shapes[i]) || len(t.Data) != len(m.grad[i]):
			return fmt.Errorf("%w: load %s: tensor %q has shape %v, want %v", ErrConfig, source, t.Name, t.Shape, m.shapes[i])
		}
		copy(m.w[i].Data().([]float32), t.Data)
		seen[t.Name] = true
	}
	for i, name := range m.names {
		if !seen[name] {
			return fmt.Errorf("%w: load %s: tensor %q missing (want shape %v)", ErrConfig, source, name, m.shapes[i])
		}
	}
	if lmHead != nil && !slices.Equal(lmHead.Data, m.head()) {
		return fmt.Errorf("%w: load %s: tensor \"lm_head.weight\" differs from the embedding but tie_word_embeddings is true", ErrConfig, source)
	}
	return nil
}
