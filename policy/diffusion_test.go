package policy

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

func TestNewDiffusionModelForcesBidirectionalAttention(t *testing.T) {
	m, err := NewDiffusionModel(Config{Layers: 1, DModel: 8, Heads: 2, Context: 16, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	if m.Config().Causal {
		t.Error("diffusion model kept causal attention")
	}
	if m.NumParams() == 0 || len(m.Params()) != len(m.net.w) {
		t.Errorf("params: %d scalars in %d tensors", m.NumParams(), len(m.Params()))
	}
	if _, err := NewDiffusionModel(Config{Heads: 3}); !errors.Is(err, ErrConfig) {
		t.Errorf("invalid config: err = %v", err)
	}
}

func TestDiffusionSaveLoadRoundTripAndKindCheck(t *testing.T) {
	dir := t.TempDir()
	m := tinyDiffusion(t, tinyDiffusionConfigs[1].cfg)
	path := filepath.Join(dir, "diffusion.safetensors")
	if err := m.Save(path, map[string]string{"tokenizer": "bytes"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := LoadDiffusion(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["tokenizer"] != "bytes" || meta[MetaModelKind] != ModelKindDiffusion {
		t.Errorf("metadata %v", meta)
	}
	if got.Config() != m.Config() {
		t.Errorf("config %+v, want %+v", got.Config(), m.Config())
	}
	for i, p := range got.Params() {
		if !slices.Equal(p.Value, m.Params()[i].Value) {
			t.Fatalf("tensor %s differs after the round trip", p.Name)
		}
	}
	t.Run("the autoregressive loader refuses a diffusion file", func(t *testing.T) {
		if _, _, err := Load(path); !errors.Is(err, ErrConfig) {
			t.Errorf("err = %v, want ErrConfig", err)
		}
	})
	t.Run("the diffusion loader refuses an autoregressive file", func(t *testing.T) {
		ar := tinyModel(t, tinyConfigs[0].cfg)
		arPath := filepath.Join(dir, "ar.safetensors")
		if err := ar.Save(arPath, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := LoadDiffusion(arPath); !errors.Is(err, ErrConfig) {
			t.Errorf("err = %v, want ErrConfig", err)
		}
		if _, _, err := Load(arPath); err != nil {
			t.Errorf("autoregressive file no longer loads: %v", err)
		}
	})
}

func TestDiffusionGenConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  DiffusionGenConfig
		ok   bool
	}{
		{"the zero value is valid", DiffusionGenConfig{}, true},
		{"random remasking is valid", DiffusionGenConfig{Steps: 4, BlockLen: 8, Remask: RemaskRandom}, true},
		{"negative steps are rejected", DiffusionGenConfig{Steps: -1}, false},
		{"a negative block length is rejected", DiffusionGenConfig{BlockLen: -2}, false},
		{"an unknown remasking is rejected", DiffusionGenConfig{Remask: "top_k"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.cfg.Validate()
			if (err == nil) != c.ok || (err != nil && !errors.Is(err, ErrConfig)) {
				t.Errorf("Validate() = %v", err)
			}
		})
	}
	d := DiffusionGenConfig{}.WithDefaults()
	if d.Steps != DefaultDiffusionSteps || d.BlockLen != DefaultDiffusionBlockLen || d.Remask != RemaskLowConfidence {
		t.Errorf("defaults %+v", d)
	}
}

func TestCanvasForwardMatchesTheTrainingGraph(t *testing.T) {
	tl := loadTol(t, "logprob_agreement")
	for _, c := range tinyDiffusionConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyDiffusion(t, c.cfg)
			tokens := []int32{1, 5, 7, 7, 9, 7, 2}
			g := newCanvasGrid(1, canvasWidth(len(tokens), m.Config().Context))
			g.fill(0, tokens, nil, nil, nil)
			ng, err := m.net.graphFor(graphKey{B: 1, T: g.T})
			if err != nil {
				t.Fatal(err)
			}
			if err := ng.run(g.tokens, g.targets, g.mask); err != nil {
				t.Fatal(err)
			}
			want := ng.logits.Value().Data().([]float32)
			ints := make([]int, len(tokens))
			for i, x := range tokens {
				ints[i] = int(x)
			}
			got := newEngine(m.net).canvasForward(ints, 2, &canvasScratch{})
			v := m.Config().Vocab
			for j := range got {
				if w := float64(want[2*v+j]); !tl.ok(float64(got[j]), w) {
					t.Fatalf("logit %d: inference %v, graph %v", j, got[j], w)
				}
			}
		})
	}
}

func diffusionRequests(n int) []data.GenRequest {
	reqs := make([]data.GenRequest, n)
	for i := range reqs {
		reqs[i] = data.GenRequest{PromptID: uint64(100 + i/2), SampleIdx: int32(i % 2), PromptTokens: []int32{1, int32(8 + i%3), 9}}
	}
	return reqs
}

func TestDiffusionGenerateIsDeterministicPerSample(t *testing.T) {
	m := tinyDiffusion(t, Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 16, Vocab: 11, InitSeed: 9})
	for _, gc := range []DiffusionGenConfig{{Steps: 5, BlockLen: 4}, {Steps: 3, BlockLen: 16, Remask: RemaskRandom}} {
		if err := m.SetGenConfig(gc); err != nil {
			t.Fatal(err)
		}
		p := data.GenParams{Temperature: 0.9, MaxNewTokens: 9}
		reqs := diffusionRequests(6)
		all, err := m.Generate(context.Background(), 3, reqs, p)
		if err != nil {
			t.Fatal(err)
		}
		sub := []data.GenRequest{reqs[4], reqs[1]}
		part, err := m.Generate(context.Background(), 3, sub, p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(part[0].Tokens, all[4].Tokens) || !slices.Equal(part[1].Tokens, all[1].Tokens) {
			t.Errorf("%+v: results depend on batch composition", gc)
		}
		other, err := m.Generate(context.Background(), 4, reqs, p)
		if err != nil {
			t.Fatal(err)
		}
		same := true
		for i, r := range all {
			same = same && slices.Equal(r.Tokens, other[i].Tokens)
			checkGenResult(t, r, p.MaxNewTokens)
		}
		if same {
			t.Errorf("%+v: seed 3 and 4 gave identical samples", gc)
		}
	}
}

// checkGenResult asserts the documented shape of a diffusion result.
func checkGenResult(t *testing.T, r data.GenResult, maxNew int) {
	t.Helper()
	if r.Logprobs != nil {
		t.Error("diffusion result has behaviour log-probs")
	}
	if len(r.Tokens) == 0 || len(r.Tokens) > maxNew {
		t.Fatalf("result has %d tokens, budget %d", len(r.Tokens), maxNew)
	}
	for j, tok := range r.Tokens {
		if tok == MaskToken {
			t.Errorf("mask token left at position %d", j)
		}
		if tok == tokenizer.EOS && j != len(r.Tokens)-1 {
			t.Errorf("tokens continue after EOS at %d", j)
		}
	}
	last := r.Tokens[len(r.Tokens)-1]
	if stop := last == tokenizer.EOS; stop != (r.FinishReason == data.FinishStop) {
		t.Errorf("finish reason %q with last token %d", r.FinishReason, last)
	}
}

func TestDiffusionGenerateRejectsBadRequestsAndHonoursCancellation(t *testing.T) {
	m := tinyDiffusion(t, Config{Layers: 1, DModel: 8, Heads: 2, DFF: 8, Context: 16, Vocab: 11, InitSeed: 9})
	bad := []data.GenRequest{{PromptTokens: nil}}
	if _, err := m.Generate(context.Background(), 1, bad, data.GenParams{}); !errors.Is(err, ErrInput) {
		t.Errorf("empty prompt: err = %v", err)
	}
	if _, err := m.Generate(context.Background(), 1, diffusionRequests(1), data.GenParams{Temperature: math.NaN()}); err == nil {
		t.Error("NaN temperature accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, 1, diffusionRequests(3), data.GenParams{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v", err)
	}
}

// rolloutModel is rollout.Model's method set (policy does not import
// rollout): DiffusionModel must plug into rollout.InProcess.
type rolloutModel interface {
	Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error)
}

var _ rolloutModel = (*DiffusionModel)(nil)

func BenchmarkDiffusionGenerate(b *testing.B) {
	m, err := NewDiffusionModel(Config{Layers: 2, DModel: 64, Heads: 4, Context: 64})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.SetGenConfig(DiffusionGenConfig{Steps: 16, BlockLen: 16}); err != nil {
		b.Fatal(err)
	}
	reqs := diffusionRequests(8)
	p := data.GenParams{MaxNewTokens: 32}
	for b.Loop() {
		if _, err := m.Generate(context.Background(), 1, reqs, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(reqs)*p.MaxNewTokens)/b.Elapsed().Seconds(), "tokens/s")
}

func BenchmarkDiffusionAccumulateELBO(b *testing.B) {
	m, err := NewDiffusionModel(Config{Layers: 2, DModel: 64, Heads: 4, Context: 64})
	if err != nil {
		b.Fatal(err)
	}
	var batch SeqBatch
	keys := make([]uint64, 8)
	for i := range keys {
		c := make([]int32, 32)
		for j := range c {
			c[j] = int32(8 + (i*7+j*3)%26)
		}
		batch.Prompts = append(batch.Prompts, []int32{1, 9, 10})
		batch.Completions = append(batch.Completions, c)
		keys[i] = uint64(i)
	}
	cfg := objective.DefaultELBOConfig()
	loss := func(e []float64) (float64, []float64, error) {
		d := make([]float64, len(e))
		for i := range d {
			d[i] = -1 / float64(len(e))
		}
		return 0, d, nil
	}
	for b.Loop() {
		if _, err := m.AccumulateELBO(batch, cfg, 1, keys, loss); err != nil {
			b.Fatal(err)
		}
	}
}
