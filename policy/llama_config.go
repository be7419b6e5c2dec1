package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
)

// Hugging Face architectures LlamaModel implements (config.json's
// "architectures").
const (
	ArchLlama = "LlamaForCausalLM"
	ArchQwen2 = "Qwen2ForCausalLM"
	ArchQwen3 = "Qwen3ForCausalLM"
)

// LlamaConfig is the part of a Hugging Face config.json that fixes a
// Llama-family decoder's shape and numerics. ParseLlamaConfig fills it
// (defaults applied) and refuses settings LlamaModel does not implement.
type LlamaConfig struct {
	// Architecture is ArchLlama, ArchQwen2 or ArchQwen3.
	Architecture      string
	HiddenSize        int
	IntermediateSize  int
	Layers            int
	Heads             int
	KVHeads           int // num_key_value_heads; Heads when absent
	HeadDim           int // head_dim; HiddenSize/Heads when absent
	RMSNormEps        float64
	RopeTheta         float64
	RopeScaling       *Llama3RopeScaling // nil: no frequency scaling
	MaxPositions      int                // max_position_embeddings
	Vocab             int
	TieWordEmbeddings bool
	// AttentionBias is config.json's attention_bias: q/k/v/o biases under
	// Llama, q/k/v biases under Qwen3. Qwen2 always has q/k/v biases and
	// never an o bias, whatever this says.
	AttentionBias bool
	BOS           int     // bos_token_id; −1 when absent
	EOS           []int   // eos_token_id (an int or a list in the file)
	TorchDType    string  // informational: weights are computed in float32
	InitRange     float64 // initializer_range (NewLlamaRandom uses 0.02 regardless)
}

// Llama3RopeScaling is rope_scaling with rope_type "llama3" (Llama 3.1+):
// long wavelengths are divided by Factor, short ones kept, and the band in
// between interpolated.
type Llama3RopeScaling struct {
	Factor               float64 `json:"factor"`
	LowFreqFactor        float64 `json:"low_freq_factor"`
	HighFreqFactor       float64 `json:"high_freq_factor"`
	OriginalMaxPositions int     `json:"original_max_position_embeddings"`
}

// hfConfigJSON mirrors config.json; pointers tell absent from zero.
type hfConfigJSON struct {
	Architectures    []string        `json:"architectures"`
	HiddenSize       *int            `json:"hidden_size"`
	IntermediateSize *int            `json:"intermediate_size"`
	Layers           *int            `json:"num_hidden_layers"`
	Heads            *int            `json:"num_attention_heads"`
	KVHeads          *int            `json:"num_key_value_heads"`
	HeadDim          *int            `json:"head_dim"`
	RMSNormEps       *float64        `json:"rms_norm_eps"`
	RopeTheta        *float64        `json:"rope_theta"`
	RopeScaling      json.RawMessage `json:"rope_scaling"`
	MaxPositions     *int            `json:"max_position_embeddings"`
	Vocab            *int            `json:"vocab_size"`
	Tie              *bool           `json:"tie_word_embeddings"`
	AttentionBias    *bool           `json:"attention_bias"`
	MLPBias          *bool           `json:"mlp_bias"`
	HiddenAct        *string         `json:"hidden_act"`
	PretrainingTP    *int            `json:"pretraining_tp"`
	SlidingWindow    *bool           `json:"use_sliding_window"`
	LayerTypes       []string        `json:"layer_types"`
	BOS              *int            `json:"bos_token_id"`
	EOS              json.RawMessage `json:"eos_token_id"`
	TorchDType       *string         `json:"torch_dtype"`
	InitRange        *float64        `json:"initializer_range"`
}

// moeKeys are config.json keys of mixture-of-experts variants; a non-null,
// non-zero value means a model LlamaModel cannot run.
var moeKeys = []string{"num_experts", "num_local_experts", "n_routed_experts", "num_experts_per_tok", "moe_intermediate_size"}

// ParseLlamaConfig parses a config.json (file names it in errors) and
// validates it. Unknown keys are ignored (config.json carries many
// informational ones); every setting that would change the computation and
// is not implemented is refused with ErrConfig naming the field.
func ParseLlamaConfig(raw []byte, file string) (LlamaConfig, error) {
	var j hfConfigJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return LlamaConfig{}, fmt.Errorf("%w: %s: %v", ErrConfig, file, err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		return LlamaConfig{}, fmt.Errorf("%w: %s: %v", ErrConfig, file, err)
	}
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: %s: field %q: %s", ErrConfig, file, field, fmt.Sprintf(format, args...))
	}
	for _, k := range moeKeys {
		if v, ok := all[k]; ok && !isNullOrZero(v) {
			return LlamaConfig{}, bad(k, "mixture-of-experts models are not supported (value %s)", v)
		}
	}
	c, err := j.required(bad)
	if err != nil {
		return LlamaConfig{}, err
	}
	if err := j.refuseUnsupported(bad); err != nil {
		return LlamaConfig{}, err
	}
	if c.RopeScaling, err = parseRopeScaling(j.RopeScaling, bad); err != nil {
		return LlamaConfig{}, err
	}
	if c.EOS, err = parseEOS(j.EOS, bad); err != nil {
		return LlamaConfig{}, err
	}
	return c, c.validate(bad)
}

// required reads the architecture and dimensions, applying transformers'
// defaults to optional fields.
func (j *hfConfigJSON) required(bad func(string, string, ...any) error) (LlamaConfig, error) {
	var c LlamaConfig
	if len(j.Architectures) != 1 {
		return c, bad("architectures", "want exactly one of %s, %s, %s; got %q", ArchLlama, ArchQwen2, ArchQwen3, j.Architectures)
	}
	c.Architecture = j.Architectures[0]
	if !slices.Contains([]string{ArchLlama, ArchQwen2, ArchQwen3}, c.Architecture) {
		return c, bad("architectures", "unsupported architecture %q (want %s, %s or %s)", c.Architecture, ArchLlama, ArchQwen2, ArchQwen3)
	}
	ints := []struct {
		field string
		src   *int
		dst   *int
	}{
		{"hidden_size", j.HiddenSize, &c.HiddenSize},
		{"intermediate_size", j.IntermediateSize, &c.IntermediateSize},
		{"num_hidden_layers", j.Layers, &c.Layers},
		{"num_attention_heads", j.Heads, &c.Heads},
		{"max_position_embeddings", j.MaxPositions, &c.MaxPositions},
		{"vocab_size", j.Vocab, &c.Vocab},
	}
	for _, f := range ints {
		if f.src == nil {
			return c, bad(f.field, "missing")
		}
		if *f.src <= 0 {
			return c, bad(f.field, "%d is not positive", *f.src)
		}
		*f.dst = *f.src
	}
	c.KVHeads = deref(j.KVHeads, c.Heads)
	c.HeadDim = deref(j.HeadDim, c.HiddenSize/c.Heads)
	c.RMSNormEps = deref(j.RMSNormEps, 1e-6)
	c.RopeTheta = deref(j.RopeTheta, 10000)
	c.TieWordEmbeddings = deref(j.Tie, false)
	c.AttentionBias = deref(j.AttentionBias, false)
	c.BOS = deref(j.BOS, -1)
	c.TorchDType = deref(j.TorchDType, "")
	c.InitRange = deref(j.InitRange, 0.02)
	return c, nil
}

// refuseUnsupported rejects settings that change the computation in ways
// LlamaModel does not implement.
func (j *hfConfigJSON) refuseUnsupported(bad func(string, string, ...any) error) error {
	switch {
	case j.HiddenAct != nil && *j.HiddenAct != "silu":
		return bad("hidden_act", "%q is not supported (only silu)", *j.HiddenAct)
	case j.MLPBias != nil && *j.MLPBias:
		return bad("mlp_bias", "true is not supported")
	case j.PretrainingTP != nil && *j.PretrainingTP > 1:
		return bad("pretraining_tp", "%d > 1 is not supported", *j.PretrainingTP)
	case j.SlidingWindow != nil && *j.SlidingWindow:
		return bad("use_sliding_window", "sliding-window attention is not supported")
	}
	for i, t := range j.LayerTypes {
		if t != "full_attention" {
			return bad("layer_types", "layer %d is %q; only full_attention is supported", i, t)
		}
	}
	return nil
}

func deref[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// isNullOrZero reports whether a JSON value is null, false, 0 or empty.
func isNullOrZero(v json.RawMessage) bool {
	s := string(bytes.TrimSpace(v))
	return s == "null" || s == "0" || s == "false" || s == `""` || s == "[]" || s == "{}"
}

// parseRopeScaling accepts null, rope_type "default" and rope_type
// "llama3" (older files spell the key "type").
func parseRopeScaling(raw json.RawMessage, bad func(string, string, ...any) error) (*Llama3RopeScaling, error) {
	if len(raw) == 0 || isNullOrZero(raw) {
		return nil, nil
	}
	var kind struct {
		RopeType *string `json:"rope_type"`
		Type     *string `json:"type"`
	}
	if err := json.Unmarshal(raw, &kind); err != nil {
		return nil, bad("rope_scaling", "%v", err)
	}
	rt := deref(kind.RopeType, deref(kind.Type, ""))
	switch rt {
	case "default":
		return nil, nil
	case "llama3":
	default:
		return nil, bad("rope_scaling", "rope_type %q is not supported (only llama3 and default)", rt)
	}
	var s Llama3RopeScaling
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, bad("rope_scaling", "%v", err)
	}
	switch {
	case !(s.Factor > 0):
		return nil, bad("rope_scaling", "factor %v must be positive", s.Factor)
	case !(s.LowFreqFactor > 0) || !(s.HighFreqFactor > s.LowFreqFactor):
		return nil, bad("rope_scaling", "need 0 < low_freq_factor (%v) < high_freq_factor (%v)", s.LowFreqFactor, s.HighFreqFactor)
	case s.OriginalMaxPositions <= 0:
		return nil, bad("rope_scaling", "original_max_position_embeddings %d must be positive", s.OriginalMaxPositions)
	}
	return &s, nil
}

// parseEOS reads eos_token_id as an int, a list of ints or null.
func parseEOS(raw json.RawMessage, bad func(string, string, ...any) error) ([]int, error) {
	if len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null" {
		return nil, nil
	}
	var one int
	if err := json.Unmarshal(raw, &one); err == nil {
		return []int{one}, nil
	}
	var many []int
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, bad("eos_token_id", "want an int or a list of ints, got %s", raw)
	}
	return many, nil
}

// validate checks the parsed dimensions against each other.
func (c LlamaConfig) validate(bad func(string, string, ...any) error) error {
	switch {
	case c.KVHeads <= 0 || c.Heads%c.KVHeads != 0:
		return bad("num_key_value_heads", "%d does not divide num_attention_heads %d", c.KVHeads, c.Heads)
	case c.HeadDim <= 0 || c.HeadDim%2 != 0:
		return bad("head_dim", "%d is not a positive even number (rotary pairs)", c.HeadDim)
	case !(c.RMSNormEps > 0):
		return bad("rms_norm_eps", "%v is not positive", c.RMSNormEps)
	case !(c.RopeTheta > 1) || math.IsInf(c.RopeTheta, 0):
		return bad("rope_theta", "%v is not a finite base above 1", c.RopeTheta)
	case c.MaxPositions < 2:
		return bad("max_position_embeddings", "%d is below 2", c.MaxPositions)
	}
	for _, e := range c.EOS {
		if e < 0 || e >= c.Vocab {
			return bad("eos_token_id", "%d outside the vocabulary [0, %d)", e, c.Vocab)
		}
	}
	if c.BOS >= c.Vocab {
		return bad("bos_token_id", "%d outside the vocabulary [0, %d)", c.BOS, c.Vocab)
	}
	return nil
}

// Validate reports the first problem of a LlamaConfig built in code (as
// NewLlamaRandom's callers do); ParseLlamaConfig's results are valid.
func (c LlamaConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return fmt.Errorf("%w: llama config field %q: %s", ErrConfig, field, fmt.Sprintf(format, args...))
	}
	if !slices.Contains([]string{ArchLlama, ArchQwen2, ArchQwen3}, c.Architecture) {
		return bad("architectures", "unsupported architecture %q", c.Architecture)
	}
	for _, f := range []struct {
		field string
		v     int
	}{{"hidden_size", c.HiddenSize}, {"intermediate_size", c.IntermediateSize}, {"num_hidden_layers", c.Layers},
		{"num_attention_heads", c.Heads}, {"vocab_size", c.Vocab}} {
		if f.v <= 0 {
			return bad(f.field, "%d is not positive", f.v)
		}
	}
	return c.validate(bad)
}

// qkvBias reports whether q/k/v projections have biases, oBias whether
// o_proj has one (transformers' per-architecture rules).
func (c LlamaConfig) qkvBias() bool { return c.Architecture == ArchQwen2 || c.AttentionBias }
func (c LlamaConfig) oBias() bool   { return c.Architecture == ArchLlama && c.AttentionBias }

// qkNorm reports whether attention has per-head q/k RMSNorms (Qwen3).
func (c LlamaConfig) qkNorm() bool { return c.Architecture == ArchQwen3 }

// invFreq returns the rotary inverse frequencies (HeadDim/2) as
// transformers computes them: in float32, base^(−2i/HeadDim), then the
// llama3 scaling (_compute_llama3_parameters) when configured.
func (c LlamaConfig) invFreq() []float32 {
	half := c.HeadDim / 2
	f := make([]float32, half)
	for i := range f {
		// torch: arange(0, dim, 2).float() / dim in float32, then
		// base ** that (float32 pow), then 1/x.
		e := float32(2*i) / float32(c.HeadDim)
		f[i] = 1 / float32(math.Pow(c.RopeTheta, float64(e)))
	}
	s := c.RopeScaling
	if s == nil {
		return f
	}
	lowWavelen := float64(s.OriginalMaxPositions) / s.LowFreqFactor
	highWavelen := float64(s.OriginalMaxPositions) / s.HighFreqFactor
	for i, v := range f {
		wavelen := float32(2 * math.Pi / float64(v))
		switch {
		case float64(wavelen) < highWavelen:
		case float64(wavelen) > lowWavelen:
			f[i] = v / float32(s.Factor)
		default:
			smooth := (float32(s.OriginalMaxPositions)/wavelen - float32(s.LowFreqFactor)) / float32(s.HighFreqFactor-s.LowFreqFactor)
			f[i] = (1-smooth)*v/float32(s.Factor) + smooth*v
		}
	}
	return f
}

// ropeAngles returns cos and sin tables (positions × HeadDim/2) of the
// angles pos·invFreq, the product rounded to float32 as transformers'
// float32 rotary embedding does.
func (c LlamaConfig) ropeAngles(positions int) (cos, sin []float64) {
	f := c.invFreq()
	half := len(f)
	cos, sin = make([]float64, positions*half), make([]float64, positions*half)
	for t := 0; t < positions; t++ {
		for i, v := range f {
			a := float64(float32(t) * v)
			cos[t*half+i], sin[t*half+i] = math.Cos(a), math.Sin(a)
		}
	}
	return cos, sin
}

// modelTypes maps an architecture to config.json's model_type.
var modelTypes = map[string]string{ArchLlama: "llama", ArchQwen2: "qwen2", ArchQwen3: "qwen3"}

// HFConfigJSON renders c as a Hugging Face config.json that
// ParseLlamaConfig reads back to c (torch_dtype says float32: that is what
// Save writes).
func (c LlamaConfig) HFConfigJSON() ([]byte, error) {
	m := map[string]any{
		"architectures":           []string{c.Architecture},
		"model_type":              modelTypes[c.Architecture],
		"hidden_size":             c.HiddenSize,
		"intermediate_size":       c.IntermediateSize,
		"num_hidden_layers":       c.Layers,
		"num_attention_heads":     c.Heads,
		"num_key_value_heads":     c.KVHeads,
		"head_dim":                c.HeadDim,
		"rms_norm_eps":            c.RMSNormEps,
		"rope_theta":              c.RopeTheta,
		"max_position_embeddings": c.MaxPositions,
		"vocab_size":              c.Vocab,
		"tie_word_embeddings":     c.TieWordEmbeddings,
		"attention_bias":          c.AttentionBias,
		"hidden_act":              "silu",
		"initializer_range":       c.InitRange,
		"torch_dtype":             "float32",
	}
	if c.RopeScaling != nil {
		m["rope_scaling"] = map[string]any{"rope_type": "llama3", "factor": c.RopeScaling.Factor,
			"low_freq_factor": c.RopeScaling.LowFreqFactor, "high_freq_factor": c.RopeScaling.HighFreqFactor,
			"original_max_position_embeddings": c.RopeScaling.OriginalMaxPositions}
	}
	if c.BOS >= 0 {
		m["bos_token_id"] = c.BOS
	}
	if len(c.EOS) == 1 {
		m["eos_token_id"] = c.EOS[0]
	} else if len(c.EOS) > 1 {
		m["eos_token_id"] = c.EOS
	}
	return json.MarshalIndent(m, "", "  ")
}

// ropeID names the rotary frequency table for op hashing.
func (c LlamaConfig) ropeID() string {
	if s := c.RopeScaling; s != nil {
		return fmt.Sprintf("theta=%g,llama3=%g/%g/%g/%d", c.RopeTheta, s.Factor, s.LowFreqFactor, s.HighFreqFactor, s.OriginalMaxPositions)
	}
	return fmt.Sprintf("theta=%g", c.RopeTheta)
}
