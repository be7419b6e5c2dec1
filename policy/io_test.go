package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

func TestSaveLoadRoundTrip(t *testing.T) {
	m := tinyModel(t, tinyConfigs[1].cfg)
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := m.Save(path, map[string]string{"rlpipe.tokenizer": "spec"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Config() != m.Config() {
		t.Fatalf("config %+v, want %+v", got.Config(), m.Config())
	}
	if meta["rlpipe.tokenizer"] != "spec" || meta[MetaModelConfig] == "" {
		t.Fatalf("metadata %v lost a key", meta)
	}
	for i := range m.w {
		if !slices.Equal(got.w[i].Data().([]float32), m.w[i].Data().([]float32)) {
			t.Fatalf("tensor %s differs after round trip", m.names[i])
		}
	}
	a, _, _ := m.LogProbs(tinyBatch, 1)
	b, _, _ := got.LogProbs(tinyBatch, 1)
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("sequence %d: log-probs differ after round trip", i)
		}
	}
}

func TestLoadRejectsMismatchedFiles(t *testing.T) {
	m := tinyModel(t, tinyConfigs[0].cfg)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.safetensors")
	if err := m.Save(good, nil); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := safetensors.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		edit   func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor
		target error
	}{
		{"a missing config", func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor {
			delete(meta, MetaModelConfig)
			return ts
		}, ErrConfig},
		{"a config with an unknown field", func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor {
			meta[MetaModelConfig] = `{"layers":2,"bogus":1}`
			return ts
		}, ErrConfig},
		{"a tensor of the wrong shape", func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor {
			ts[0].Shape = []int{ts[0].Shape[1], ts[0].Shape[0]}
			return ts
		}, ErrConfig},
		{"a missing tensor", func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor {
			return ts[1:]
		}, ErrConfig},
		{"an extra tensor", func(ts []safetensors.Tensor, meta map[string]string) []safetensors.Tensor {
			return append(ts, safetensors.Tensor{Name: "extra", Shape: []int{1}, Data: []float32{1}})
		}, ErrConfig},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			md := map[string]string{}
			for k, v := range meta {
				md[k] = v
			}
			ts2 := c.edit(slices.Clone(ts), md)
			path := filepath.Join(dir, "bad"+string(rune('a'+i)))
			if err := safetensors.WriteFile(path, ts2, md); err != nil {
				t.Fatal(err)
			}
			if _, _, err := Load(path); !errors.Is(err, c.target) {
				t.Fatalf("err = %v, want %v", err, c.target)
			}
		})
	}
	if _, _, err := Load(filepath.Join(dir, "absent")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: err = %v", err)
	}
}
