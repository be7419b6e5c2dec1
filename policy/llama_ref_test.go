package policy

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data/reftest"
)

// refLlamaConfigs are the configs compared against testdata/llama_ref.py,
// written as config.json text the way the hub ships them.
var refLlamaConfigs = []struct{ name, json string }{
	{"llama, llama3 rope, attention bias, tied", `{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
	  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
	  "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 16},
	  "max_position_embeddings": 64, "vocab_size": 97, "tie_word_embeddings": true, "attention_bias": true, "hidden_act": "silu",
	  "bos_token_id": 1, "eos_token_id": 2}`},
	{"qwen2, untied", `{"architectures": ["Qwen2ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
	  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
	  "max_position_embeddings": 64, "vocab_size": 97, "tie_word_embeddings": false, "use_sliding_window": false, "hidden_act": "silu",
	  "eos_token_id": [2, 3]}`},
	{"qwen3, head_dim 32 with hidden 64 and 4 heads, untied", `{"architectures": ["Qwen3ForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
	  "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 32, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0,
	  "rope_scaling": null, "max_position_embeddings": 64, "vocab_size": 97, "tie_word_embeddings": false, "attention_bias": false,
	  "hidden_act": "silu", "eos_token_id": 2}`},
}

// relErr is ‖got − want‖ / ‖want‖.
func relErr(got []float32, want []float64) float64 {
	var num, den float64
	for i, w := range want {
		d := float64(got[i]) - w
		num += d * d
		den += w * w
	}
	return math.Sqrt(num / math.Max(den, 1e-300))
}

// TestLlamaMatchesTorchReference compares logits (each sequence of a
// padded batch) and the weight gradients of a weighted log-prob loss with
// a float64 plain-torch implementation (testdata/llama_ref.py), for the
// three architectures.
func TestLlamaMatchesTorchReference(t *testing.T) {
	python := reftest.Torch(t)
	script, err := filepath.Abs("testdata/llama_ref.py")
	if err != nil {
		t.Fatal(err)
	}
	batch := SeqBatch{
		Prompts:     [][]int32{{1, 5, 6, 7, 8}, {1, 40}, {1, 90, 3, 3, 17, 60, 61, 62, 63, 64}},
		Completions: [][]int32{{9, 10, 96, 2}, {50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61}, {4, 2}},
	}
	for k, c := range refLlamaConfigs {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseLlamaConfig([]byte(c.json), c.name)
			if err != nil {
				t.Fatal(err)
			}
			m := refLlama(t, cfg, uint64(k+1))
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(c.json), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := m.Save(filepath.Join(dir, "model.safetensors"), nil); err != nil {
				t.Fatal(err)
			}
			weights := writeRefInput(t, dir, batch)
			if out, err := exec.Command(python, script, dir).CombinedOutput(); err != nil {
				t.Fatalf("%s: %v\n%s", script, err, out)
			}
			var ref struct {
				Logits [][][]float64
				Loss   float64
				Grads  map[string][]float64
			}
			raw, err := os.ReadFile(filepath.Join(dir, "output.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(raw, &ref); err != nil {
				t.Fatal(err)
			}
			compareRefLogits(t, m, batch, ref.Logits)
			loss, err := m.Accumulate(batch, 1, func(lp [][]float64) (float64, [][]float64, error) {
				var l float64
				for i := range lp {
					for j := range lp[i] {
						l += weights[i][j] * lp[i][j]
					}
				}
				return l, weights, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(loss-ref.Loss) > 1e-4*math.Abs(ref.Loss) {
				t.Errorf("loss %v, torch %v", loss, ref.Loss)
			}
			if len(ref.Grads) != len(m.names) {
				t.Errorf("torch has %d tensors, model %d", len(ref.Grads), len(m.names))
			}
			for i, name := range m.names {
				if e := relErr(m.grad[i], ref.Grads[name]); !(e <= 1e-3) {
					t.Errorf("gradient of %s: relative error %.3g", name, e)
				}
			}
		})
	}
}

// refLlama returns a model whose weights are large enough for peaked
// next-token distributions: matrices N(0, 0.1²), norm weights 1 + N(0,
// 0.1²), biases N(0, 0.1²).
func refLlama(t *testing.T, cfg LlamaConfig, seed uint64) *LlamaModel {
	m, err := NewLlamaRandom(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	for i, name := range m.names {
		x := m.w[i].Data().([]float32)
		for j := range x {
			x[j] = float32(0.1 * rng.NormFloat64())
			if strings.Contains(name, "norm") {
				x[j]++
			}
		}
	}
	return m
}

// writeRefInput writes the unpadded sequences and the loss weights (a
// fixed pattern in [−1, 1]) for llama_ref.py and returns the weights.
func writeRefInput(t *testing.T, dir string, b SeqBatch) [][]float64 {
	var in struct {
		Sequences  [][]int32   `json:"sequences"`
		PromptLens []int       `json:"prompt_lens"`
		Weights    [][]float64 `json:"weights"`
	}
	for i, p := range b.Prompts {
		in.Sequences = append(in.Sequences, append(append([]int32(nil), p...), b.Completions[i]...))
		in.PromptLens = append(in.PromptLens, len(p))
		w := make([]float64, len(b.Completions[i]))
		for j := range w {
			w[j] = float64((i*7+j*3)%5-2) / 2
		}
		in.Weights = append(in.Weights, w)
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "input.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return in.Weights
}

// compareRefLogits runs the padded batch's forward graph and compares each
// sequence's logits at its real positions with torch's.
func compareRefLogits(t *testing.T, m *LlamaModel, b SeqBatch, want [][][]float64) {
	t.Helper()
	lay, err := m.layout(b)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := buildLlamaNet(m.cfg, m.w, graphKey{B: lay.B, T: lay.T})
	if err != nil {
		t.Fatal(err)
	}
	if err := ng.run(lay.tokens, lay.targets, lay.mask); err != nil {
		t.Fatal(err)
	}
	logits := ng.logits.Value().Data().([]float32)
	v := m.cfg.Vocab
	for i, seq := range want {
		var w []float64
		for _, row := range seq {
			w = append(w, row...)
		}
		got := logits[i*lay.T*v : i*lay.T*v+len(w)]
		if e := relErr(got, w); !(e <= 1e-4) {
			t.Errorf("sequence %d: logits relative error %.3g", i, e)
		}
	}
}
