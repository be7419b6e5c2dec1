package policy

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// smolLM2Config is SmolLM2-135M's config.json as published on the Hugging
// Face hub (HuggingFaceTB/SmolLM2-135M), keys as in the file.
const smolLM2Config = `{
  "architectures": ["LlamaForCausalLM"],
  "attention_bias": false, "attention_dropout": 0.0,
  "bos_token_id": 0, "eos_token_id": 0,
  "hidden_act": "silu", "hidden_size": 576, "initializer_range": 0.041666666666666664,
  "intermediate_size": 1536, "is_llama_config": true, "max_position_embeddings": 8192,
  "model_type": "llama", "num_attention_heads": 9, "num_hidden_layers": 30, "num_key_value_heads": 3,
  "pretraining_tp": 1, "rms_norm_eps": 1e-05, "rope_interleaved": false, "rope_scaling": null,
  "rope_theta": 100000, "tie_word_embeddings": true, "torch_dtype": "bfloat16",
  "transformers_version": "4.40.1", "use_cache": true, "vocab_size": 49152
}`

// qwen3Config has Qwen3-0.6B's shape (head_dim 128 with hidden 1024 and
// 16 heads) and its eos list form.
const qwen3Config = `{
  "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "bos_token_id": 151643,
  "eos_token_id": [151645, 151643], "head_dim": 128, "hidden_act": "silu", "hidden_size": 1024,
  "intermediate_size": 3072, "max_position_embeddings": 40960, "max_window_layers": 28,
  "model_type": "qwen3", "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8,
  "rms_norm_eps": 1e-06, "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null,
  "tie_word_embeddings": true, "torch_dtype": "bfloat16", "use_cache": true, "use_sliding_window": false,
  "vocab_size": 151936
}`

func TestParseLlamaConfigReadsRealConfigs(t *testing.T) {
	c, err := ParseLlamaConfig([]byte(smolLM2Config), "smol/config.json")
	if err != nil {
		t.Fatal(err)
	}
	want := LlamaConfig{Architecture: ArchLlama, HiddenSize: 576, IntermediateSize: 1536, Layers: 30, Heads: 9, KVHeads: 3, HeadDim: 64,
		RMSNormEps: 1e-5, RopeTheta: 100000, MaxPositions: 8192, Vocab: 49152, TieWordEmbeddings: true, BOS: 0, EOS: []int{0},
		TorchDType: "bfloat16", InitRange: 0.041666666666666664}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("SmolLM2:\n got %+v\nwant %+v", c, want)
	}
	q, err := ParseLlamaConfig([]byte(qwen3Config), "qwen3/config.json")
	if err != nil {
		t.Fatal(err)
	}
	if q.HeadDim != 128 || q.Heads*q.HeadDim == q.HiddenSize || !reflect.DeepEqual(q.EOS, []int{151645, 151643}) || !q.qkNorm() || q.qkvBias() {
		t.Errorf("Qwen3: %+v", q)
	}
}

func TestParseLlamaConfigRopeScaling(t *testing.T) {
	base := `{"architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
	  "num_attention_heads": 4, "max_position_embeddings": 128, "vocab_size": 97, "rope_scaling": %s}`
	cases := []struct {
		name, scaling string
		want          *Llama3RopeScaling
	}{
		{"null", "null", nil},
		{"default type", `{"rope_type": "default"}`, nil},
		{"llama3", `{"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192}`,
			&Llama3RopeScaling{Factor: 32, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}},
		{"llama3 under the old type key", `{"type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 8192}`,
			&Llama3RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8192}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := ParseLlamaConfig([]byte(strings.Replace(base, "%s", c.scaling, 1)), "config.json")
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(cfg.RopeScaling, c.want) {
				t.Errorf("got %+v, want %+v", cfg.RopeScaling, c.want)
			}
		})
	}
}

func TestParseLlamaConfigRefusesNamingTheField(t *testing.T) {
	ok := `"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
	  "max_position_embeddings": 128, "vocab_size": 97`
	cases := []struct {
		name, json, field string
	}{
		{"unknown architecture", `{"architectures": ["MistralForCausalLM"], ` + ok + `}`, "architectures"},
		{"no architecture", `{` + ok + `}`, "architectures"},
		{"sliding window", `{"architectures": ["Qwen2ForCausalLM"], "use_sliding_window": true, ` + ok + `}`, "use_sliding_window"},
		{"experts", `{"architectures": ["Qwen3ForCausalLM"], "num_experts": 128, ` + ok + `}`, "num_experts"},
		{"local experts", `{"architectures": ["LlamaForCausalLM"], "num_local_experts": 8, ` + ok + `}`, "num_local_experts"},
		{"mlp bias", `{"architectures": ["LlamaForCausalLM"], "mlp_bias": true, ` + ok + `}`, "mlp_bias"},
		{"tensor parallel pretraining", `{"architectures": ["LlamaForCausalLM"], "pretraining_tp": 2, ` + ok + `}`, "pretraining_tp"},
		{"gelu", `{"architectures": ["LlamaForCausalLM"], "hidden_act": "gelu", ` + ok + `}`, "hidden_act"},
		{"yarn rope", `{"architectures": ["Qwen2ForCausalLM"], "rope_scaling": {"type": "yarn", "factor": 4}, ` + ok + `}`, "rope_scaling"},
		{"linear rope", `{"architectures": ["LlamaForCausalLM"], "rope_scaling": {"rope_type": "linear", "factor": 2}, ` + ok + `}`, "rope_scaling"},
		{"llama3 rope without factor", `{"architectures": ["LlamaForCausalLM"], "rope_scaling": {"rope_type": "llama3"}, ` + ok + `}`, "rope_scaling"},
		{"missing hidden size", `{"architectures": ["LlamaForCausalLM"], "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 128, "vocab_size": 97}`, "hidden_size"},
		{"kv heads not dividing heads", `{"architectures": ["LlamaForCausalLM"], "num_key_value_heads": 3, ` + ok + `}`, "num_key_value_heads"},
		{"odd head dim", `{"architectures": ["Qwen3ForCausalLM"], "head_dim": 15, ` + ok + `}`, "head_dim"},
		{"eos outside vocabulary", `{"architectures": ["LlamaForCausalLM"], "eos_token_id": [2, 97], ` + ok + `}`, "eos_token_id"},
		{"eos not a number", `{"architectures": ["LlamaForCausalLM"], "eos_token_id": "</s>", ` + ok + `}`, "eos_token_id"},
		{"sliding layer type", `{"architectures": ["Qwen3ForCausalLM"], "layer_types": ["full_attention", "sliding_attention"], ` + ok + `}`, "layer_types"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseLlamaConfig([]byte(c.json), "dir/config.json")
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), `"`+c.field+`"`) || !strings.Contains(err.Error(), "dir/config.json") {
				t.Errorf("got %v, want an ErrConfig naming dir/config.json and %q", err, c.field)
			}
		})
	}
}

func TestLlamaHFConfigJSONRoundTrips(t *testing.T) {
	for _, c := range tinyLlamaConfigs {
		c.cfg.InitRange = 0.02
		raw, err := c.cfg.HFConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseLlamaConfig(raw, "generated")
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, raw)
		}
		back.TorchDType = ""
		if !reflect.DeepEqual(back, c.cfg) {
			t.Errorf("%s:\n got %+v\nwant %+v", c.name, back, c.cfg)
		}
	}
}

// FuzzParseLlamaConfig: arbitrary bytes never panic, and an accepted
// config is valid and renders to a config that parses to itself.
func FuzzParseLlamaConfig(f *testing.F) {
	f.Add([]byte(smolLM2Config))
	f.Add([]byte(qwen3Config))
	f.Add([]byte(`{"architectures": ["LlamaForCausalLM"], "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "max_position_embeddings": 4, "vocab_size": 5, "rope_scaling": {"rope_type": "llama3", "factor": 2, "low_freq_factor": 1, "high_freq_factor": 2, "original_max_position_embeddings": 4}}`))
	f.Add([]byte(`{"eos_token_id": [1, "x"]}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := ParseLlamaConfig(raw, "fuzz")
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("accepted config fails Validate: %v", err)
		}
		out, err := c.HFConfigJSON()
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseLlamaConfig(out, "rendered")
		if err != nil {
			t.Fatalf("rendered config refused: %v\n%s", err, out)
		}
		c.TorchDType, back.TorchDType = "", ""
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
		}
	})
}
