package policy

import (
	"errors"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestConfigDefaultsAndValidation(t *testing.T) {
	d := DefaultConfig()
	want := Config{Layers: 4, DModel: 128, Heads: 4, DFF: 512, Context: 128, Vocab: 264, Activation: "gelu", Positions: "learned", Causal: true}
	if d != want {
		t.Fatalf("DefaultConfig() = %+v, want %+v", d, want)
	}
	if err := (Config{}).Validate(); err != nil {
		t.Fatalf("zero config: %v", err)
	}
	bad := []struct {
		name string
		cfg  Config
	}{
		{"heads that do not divide the width", Config{DModel: 10, Heads: 3}},
		{"an odd rotary head size", Config{DModel: 6, Heads: 2, Positions: "rotary"}},
		{"an unknown activation", Config{Activation: "swish"}},
		{"unknown positions", Config{Positions: "alibi"}},
		{"a vocabulary without room for special tokens", Config{Vocab: 4}},
		{"a context of one token", Config{Context: 1}},
		{"negative layers", Config{Layers: -1}},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			if err := c.cfg.Validate(); !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			if _, err := NewModel(c.cfg); err == nil {
				t.Fatal("NewModel accepted an invalid config")
			}
		})
	}
}

func TestConfigYAMLKeys(t *testing.T) {
	var c Config
	src := "layers: 2\nd_model: 64\nheads: 2\nd_ff: 128\ncontext: 96\nvocab: 264\nactivation: relu\npositions: rotary\ncausal: true\ninit_seed: 7\n"
	if err := yaml.Unmarshal([]byte(src), &c); err != nil {
		t.Fatal(err)
	}
	want := Config{Layers: 2, DModel: 64, Heads: 2, DFF: 128, Context: 96, Vocab: 264, Activation: "relu", Positions: "rotary", Causal: true, InitSeed: 7}
	if c != want {
		t.Fatalf("parsed %+v, want %+v", c, want)
	}
}

func TestModelParamsAliasBuffersAndCloneIsDeep(t *testing.T) {
	m, err := NewModel(Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 8, Vocab: 11, Causal: true, InitSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	again, _ := NewModel(m.Config())
	ps := m.Params()
	n := 0
	for i, p := range ps {
		n += len(p.Value)
		if p.NoDecay != (len(m.shapes[i]) == 1) {
			t.Errorf("%s: NoDecay %v", p.Name, p.NoDecay)
		}
		for j, v := range p.Value {
			if v != again.Params()[i].Value[j] {
				t.Fatalf("%s[%d]: init is not deterministic", p.Name, j)
			}
		}
	}
	// d=8, F=8, V=11, C=8: wte 88 + wpe 64 + block 2·8+8·24+24+64+8+16+64+8+64+8 + lnf 16 + head 88.
	if n != m.NumParams() || n != 88+64+(16+192+24+64+8+16+64+8+64+8)+16+88 {
		t.Fatalf("NumParams %d, sum %d", m.NumParams(), n)
	}
	c := m.Clone()
	ps[0].Value[0] += 1
	ps[0].Grad[0] = 5
	if c.Params()[0].Value[0] == ps[0].Value[0] || c.Params()[0].Grad[0] == 5 {
		t.Fatal("Clone shares buffers with the original")
	}
	if m.weight("wte")[0] != ps[0].Value[0] {
		t.Fatal("Params does not alias the weights")
	}
	m.ZeroGrad()
	if ps[0].Grad[0] != 0 {
		t.Fatal("ZeroGrad left a gradient")
	}
}

func TestScoringRejectsBadBatches(t *testing.T) {
	m := tinyModel(t, tinyConfigs[0].cfg)
	noop := func(lp [][]float64) (float64, [][]float64, error) { return 0, make([][]float64, len(lp)), nil }
	cases := []struct {
		name string
		b    SeqBatch
		temp float64
	}{
		{"an empty batch", SeqBatch{}, 1},
		{"mismatched prompts and completions", SeqBatch{Prompts: [][]int32{{1}}}, 1},
		{"an empty prompt", SeqBatch{Prompts: [][]int32{{}}, Completions: [][]int32{{3}}}, 1},
		{"a sequence longer than the context", SeqBatch{Prompts: [][]int32{make([]int32, 5)}, Completions: [][]int32{make([]int32, 4)}}, 1},
		{"a token outside the vocabulary", SeqBatch{Prompts: [][]int32{{1, 11}}, Completions: [][]int32{{3}}}, 1},
		{"a zero temperature", tinyBatch, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, _, err := m.LogProbs(c.b, c.temp); !errors.Is(err, ErrInput) {
				t.Fatalf("LogProbs err = %v", err)
			}
			if _, err := m.Accumulate(c.b, c.temp, noop); !errors.Is(err, ErrInput) {
				t.Fatalf("Accumulate err = %v", err)
			}
		})
	}
	wrong := func(lp [][]float64) (float64, [][]float64, error) { return 0, make([][]float64, len(lp)), nil }
	if _, err := m.Accumulate(tinyBatch, 1, wrong); err == nil {
		t.Fatal("Accumulate accepted a gradient of the wrong shape")
	}
}
