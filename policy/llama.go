package policy

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
)

// KindHF is the policy kind of pretrained Hugging Face decoders
// (LlamaModel); FileKindHFLlama is the MetaModelKind of the files its Save
// writes.
const (
	KindHF          = "hf"
	FileKindHFLlama = "hf-llama"
)

// LlamaModel is a Hugging Face Llama-family decoder (LlamaForCausalLM,
// Qwen2ForCausalLM, Qwen3ForCausalLM; SmolLM2 is a Llama): token
// embedding, Layers pre-norm blocks of
//
//	x += o_proj(attn(rope(q_norm?(q_proj(n))), rope(k_norm?(k_proj(n))), v_proj(n))), n = RMSNorm(x)
//	x += down_proj(silu(gate_proj(n))·up_proj(n)),                                     n = RMSNorm(x)
//
// with causal grouped-query attention, a final RMSNorm and an lm_head
// (tied to the embedding or not), all in float32.
//
// Every tensor keeps its Hugging Face name and [out, in] layout in memory
// (projections compute x·Wᵀ), so Params, Save and the loader agree with
// the checkpoint one to one. The training graphs (LogProbs, Accumulate)
// and the KV-cache inference path (Generate) share the buffers, as
// Model's do, and follow Model's concurrency rules.
type LlamaModel struct {
	netCore
	cfg LlamaConfig
}

func init() {
	RegisterFamily(Family{Kind: KindHF, FileKind: FileKindHFLlama, Load: loadAs(LoadLlamaFile)})
}

// Compile-time checks of the family's capabilities.
var (
	_ Trainable = (*LlamaModel)(nil)
	_ Causal    = (*LlamaModel)(nil)
)

// llamaSpec is one tensor: its HF name, shape, and whether NewLlamaRandom
// draws it (matrices) or fills it with one (norm weights); biases are 0.
type llamaSpec struct {
	name  string
	shape []int
	init  byte // 'n' normal, '1' ones, '0' zeros
}

// llamaLayer returns the HF name of layer l's tensor part.
func llamaLayer(l int, part string) string { return fmt.Sprintf("model.layers.%d.%s", l, part) }

// specs lists the tensors in Params and Save order.
func (c LlamaConfig) specs() []llamaSpec {
	d, f, q, kv := c.HiddenSize, c.IntermediateSize, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	s := []llamaSpec{{"model.embed_tokens.weight", []int{c.Vocab, d}, 'n'}}
	for l := 0; l < c.Layers; l++ {
		p := func(part string, init byte, shape ...int) {
			s = append(s, llamaSpec{llamaLayer(l, part), shape, init})
		}
		p("input_layernorm.weight", '1', d)
		p("self_attn.q_proj.weight", 'n', q, d)
		if c.qkvBias() {
			p("self_attn.q_proj.bias", '0', q)
		}
		p("self_attn.k_proj.weight", 'n', kv, d)
		if c.qkvBias() {
			p("self_attn.k_proj.bias", '0', kv)
		}
		p("self_attn.v_proj.weight", 'n', kv, d)
		if c.qkvBias() {
			p("self_attn.v_proj.bias", '0', kv)
		}
		if c.qkNorm() {
			p("self_attn.q_norm.weight", '1', c.HeadDim)
			p("self_attn.k_norm.weight", '1', c.HeadDim)
		}
		p("self_attn.o_proj.weight", 'n', d, q)
		if c.oBias() {
			p("self_attn.o_proj.bias", '0', d)
		}
		p("post_attention_layernorm.weight", '1', d)
		p("mlp.gate_proj.weight", 'n', f, d)
		p("mlp.up_proj.weight", 'n', f, d)
		p("mlp.down_proj.weight", 'n', d, f)
	}
	s = append(s, llamaSpec{"model.norm.weight", []int{d}, '1'})
	if !c.TieWordEmbeddings {
		s = append(s, llamaSpec{"lm_head.weight", []int{c.Vocab, d}, 'n'})
	}
	return s
}

// newEmptyLlama allocates zeroed weights and gradients for a valid cfg.
func newEmptyLlama(cfg LlamaConfig) *LlamaModel {
	m := &LlamaModel{cfg: cfg}
	m.netCore = newNetCore(m, "llama ")
	for _, s := range cfg.specs() {
		m.add(s.name, s.shape)
	}
	return m
}

// NewLlamaRandom returns a randomly initialised model as transformers
// initialises one: matrices and the embedding N(0, 0.02²), norm weights 1,
// biases 0. Tensor name's values come from PCG(seed, fnv64(name)). For
// tests and benchmarks: rlpipe trains this family from pretrained weights.
func NewLlamaRandom(cfg LlamaConfig, seed uint64) (*LlamaModel, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := newEmptyLlama(cfg)
	for i, s := range cfg.specs() {
		x := m.w[i].Data().([]float32)
		switch s.init {
		case '1':
			for j := range x {
				x[j] = 1
			}
		case 'n':
			h := fnv.New64a()
			h.Write([]byte(s.name))
			rng := rand.New(rand.NewPCG(seed, h.Sum64()))
			for j := range x {
				x[j] = float32(0.02 * rng.NormFloat64())
			}
		}
	}
	return m, nil
}

// Config returns the model's configuration.
func (m *LlamaModel) Config() LlamaConfig { return m.cfg }

// Kind returns KindHF.
func (m *LlamaModel) Kind() string { return KindHF }

// VocabSize is the number of embedding rows (config.json's vocab_size),
// which may exceed the tokenizer's ids (padding) but never fall short.
func (m *LlamaModel) VocabSize() int { return m.cfg.Vocab }

// weight returns the backing slice of the named tensor, nil if the model
// has no such tensor (e.g. a bias the architecture lacks).
func (m *LlamaModel) weight(name string) []float32 {
	i, ok := m.index[name]
	if !ok {
		return nil
	}
	return m.w[i].Data().([]float32)
}

// head returns the lm_head weights [V, d]: the embedding when tied.
func (m *LlamaModel) head() []float32 {
	if m.cfg.TieWordEmbeddings {
		return m.weight("model.embed_tokens.weight")
	}
	return m.weight("lm_head.weight")
}

// Clone returns a deep copy (weights and gradients) with its own, empty,
// graph cache: a *LlamaModel.
func (m *LlamaModel) Clone() Trainable {
	c := newEmptyLlama(m.cfg)
	c.copyFrom(&m.netCore)
	return c
}

// Save writes the weights to path as one float32 safetensors file with
// Hugging Face names and [out, in] layout (a tied lm_head is not written,
// as transformers does), atomically. The metadata is meta plus
// MetaModelKind = FileKindHFLlama and MetaModelConfig = the config.json
// text (HFConfigJSON), so LoadTrainable reads the file back; meta is not
// modified. Not concurrently with an optimizer step.
func (m *LlamaModel) Save(path string, meta map[string]string) error {
	cfg, err := m.cfg.HFConfigJSON()
	if err != nil {
		return fmt.Errorf("policy: save %s: %w", path, err)
	}
	return m.save(path, meta, map[string]string{
		MetaModelKind:   FileKindHFLlama,
		"format":        "pt", // transformers refuses safetensors files without it
		MetaModelConfig: string(cfg),
	})
}
