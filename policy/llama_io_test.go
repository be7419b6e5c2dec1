package policy

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// writeLlamaDir saves m as a Hugging Face directory: config.json plus
// model.safetensors (Save's single file).
func writeLlamaDir(t testing.TB, m *LlamaModel) string {
	t.Helper()
	dir := t.TempDir()
	raw, err := m.cfg.HFConfigJSON()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(dir, "model.safetensors"), map[string]string{"x": "y"}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLlamaSaveLoadRoundTrip(t *testing.T) {
	for k, c := range tinyLlamaConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyLlama(t, c.cfg, uint64(k+1))
			dir := writeLlamaDir(t, m)
			ts, _, err := safetensors.ReadFile(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range ts { // HF names and [out, in] layout
				if tn.Name == "model.layers.0.self_attn.o_proj.weight" && !slices.Equal(tn.Shape, []int{c.cfg.HiddenSize, c.cfg.Heads * c.cfg.HeadDim}) {
					t.Errorf("o_proj saved with shape %v", tn.Shape)
				}
				if tn.Name == "lm_head.weight" && c.cfg.TieWordEmbeddings {
					t.Error("tied model saved lm_head.weight")
				}
			}
			fromDir, err := LoadLlama(dir)
			if err != nil {
				t.Fatal(err)
			}
			tr, meta, err := LoadTrainable(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			if meta["x"] != "y" || tr.Kind() != KindHF {
				t.Errorf("meta %v kind %q", meta, tr.Kind())
			}
			for _, got := range []*LlamaModel{fromDir, tr.(*LlamaModel)} {
				for i, p := range got.Params() {
					if p.Name != m.names[i] || !slices.Equal(p.Value, m.Params()[i].Value) {
						t.Fatalf("tensor %d (%s) differs after load", i, p.Name)
					}
				}
			}
		})
	}
}

func TestLoadLlamaRefusesBadTensors(t *testing.T) {
	m := tinyLlama(t, tinyLlamaConfigs[1].cfg, 2)
	good := m.Params()
	cases := []struct {
		name, want string
		edit       func([]safetensors.Tensor) []safetensors.Tensor
	}{
		{"missing", `"model.norm.weight" missing (want shape [8])`, func(ts []safetensors.Tensor) []safetensors.Tensor {
			return slices.DeleteFunc(ts, func(x safetensors.Tensor) bool { return x.Name == "model.norm.weight" })
		}},
		{"extra", `unexpected tensor "model.layers.5.mlp.up_proj.weight"`, func(ts []safetensors.Tensor) []safetensors.Tensor {
			return append(ts, safetensors.Tensor{Name: "model.layers.5.mlp.up_proj.weight", Shape: []int{1}, Data: []float32{0}})
		}},
		{"wrong shape", `"model.layers.0.mlp.down_proj.weight" has shape [12 8], want [8 12]`, func(ts []safetensors.Tensor) []safetensors.Tensor {
			for i := range ts {
				if ts[i].Name == "model.layers.0.mlp.down_proj.weight" {
					ts[i].Shape = []int{12, 8}
				}
			}
			return ts
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var ts []safetensors.Tensor
			for i, p := range good {
				ts = append(ts, safetensors.Tensor{Name: p.Name, Shape: slices.Clone(m.shapes[i]), Data: p.Value})
			}
			dir := writeLlamaDir(t, m)
			if err := safetensors.WriteFile(filepath.Join(dir, "model.safetensors"), c.edit(ts), nil); err != nil {
				t.Fatal(err)
			}
			_, err := LoadLlama(dir)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}
