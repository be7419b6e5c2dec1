package policy

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// tinyLlamaConfigs are the three architectures at gradient-check size.
var tinyLlamaConfigs = []struct {
	name string
	cfg  LlamaConfig
}{
	{"llama with llama3 rope, all attention biases, tied", LlamaConfig{Architecture: ArchLlama, HiddenSize: 8, IntermediateSize: 12, Layers: 2,
		Heads: 2, KVHeads: 1, HeadDim: 4, RMSNormEps: 1e-5, RopeTheta: 500000, MaxPositions: 16, Vocab: 11, TieWordEmbeddings: true, AttentionBias: true,
		RopeScaling: &Llama3RopeScaling{Factor: 8, LowFreqFactor: 1, HighFreqFactor: 4, OriginalMaxPositions: 8}, BOS: 1, EOS: []int{2}}},
	{"qwen2 with qkv biases, untied", LlamaConfig{Architecture: ArchQwen2, HiddenSize: 8, IntermediateSize: 12, Layers: 1,
		Heads: 4, KVHeads: 2, HeadDim: 2, RMSNormEps: 1e-6, RopeTheta: 10000, MaxPositions: 16, Vocab: 11, BOS: -1, EOS: []int{2, 3}}},
	{"qwen3 with q/k norms and head_dim ≠ hidden/heads", LlamaConfig{Architecture: ArchQwen3, HiddenSize: 8, IntermediateSize: 12, Layers: 1,
		Heads: 2, KVHeads: 1, HeadDim: 6, RMSNormEps: 1e-6, RopeTheta: 1000000, MaxPositions: 16, Vocab: 11, BOS: -1, EOS: []int{2}}},
}

// tinyLlama returns a model with weights scaled up so that gradients are
// well above finite-difference noise (norm weights around 1).
func tinyLlama(t testing.TB, cfg LlamaConfig, seed uint64) *LlamaModel {
	t.Helper()
	m, err := NewLlamaRandom(cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	scaleUpWeights(&m.netCore, seed, func(name string) bool { return strings.Contains(name, "norm") })
	return m
}

var tinyLlamaBatch = SeqBatch{
	Prompts:     [][]int32{{1, 5, 6}, {1, 9}},
	Completions: [][]int32{{7, 2}, {3, 4, 10, 2}},
}

// llamaFloat64Grads runs m's training graph in float64 with
// fixedObjective(11) and returns the analytic gradients and a function
// evaluating the loss with weight (i, j) moved by delta.
func llamaFloat64Grads(t *testing.T, m *LlamaModel, b SeqBatch, temperature float64) ([][]float64, func(i, j int, delta float64) float64) {
	t.Helper()
	w := float64Weights(&m.netCore)
	lay, err := m.layout(b)
	if err != nil {
		t.Fatal(err)
	}
	ng, err := buildLlamaNet(m.cfg, w, graphKey{B: lay.B, T: lay.T, invT: 1 / temperature, train: true})
	if err != nil {
		t.Fatal(err)
	}
	obj := fixedObjective(11)
	ng.hook.fn = func(flat []float64) (float64, []float64, error) { return lay.callObjective(flat, obj) }
	return float64TrainGrads(t, ng, w, lay.tokens, lay.targets, lay.mask)
}

func TestLlamaGradientMatchesFiniteDifferencesInFloat64(t *testing.T) {
	for k, c := range tinyLlamaConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyLlama(t, c.cfg, uint64(k+1))
			grads, eval := llamaFloat64Grads(t, m, tinyLlamaBatch, 0.8)
			checkFiniteDifferences(t, &m.netCore, grads, eval, uint64(k))
		})
	}
}

func TestLlamaFloat32AccumulateMatchesFloat64Gradient(t *testing.T) {
	for k, c := range tinyLlamaConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyLlama(t, c.cfg, uint64(k+1))
			want, _ := llamaFloat64Grads(t, m, tinyLlamaBatch, 0.8)
			for range 2 { // twice: gradients must add up
				if _, err := m.Accumulate(tinyLlamaBatch, 0.8, fixedObjective(11)); err != nil {
					t.Fatal(err)
				}
			}
			checkAccumulated(t, &m.netCore, want, 2)
			m.ZeroGrad()
			for i, g := range m.grad {
				for j, v := range g {
					if v != 0 {
						t.Fatalf("ZeroGrad left %s[%d] = %v", m.names[i], j, v)
					}
				}
			}
		})
	}
}

// TestLlamaPaddedBatchEqualsSingleSequences: right padding and positions
// leave every sequence's log-probs and entropies as if scored alone.
func TestLlamaPaddedBatchEqualsSingleSequences(t *testing.T) {
	tl := loadTol(t, "batch_independence")
	for k, c := range tinyLlamaConfigs {
		t.Run(c.name, func(t *testing.T) {
			m := tinyLlama(t, c.cfg, uint64(k+1))
			lp, ent, err := m.LogProbs(tinyLlamaBatch, 1.1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tinyLlamaBatch.Prompts {
				one := SeqBatch{Prompts: tinyLlamaBatch.Prompts[i : i+1], Completions: tinyLlamaBatch.Completions[i : i+1]}
				lp1, ent1, err := m.LogProbs(one, 1.1)
				if err != nil {
					t.Fatal(err)
				}
				for j := range lp1[0] {
					if math.Abs(float64(lp1[0][j]-lp[i][j])) > tl.Atol || math.Abs(float64(ent1[0][j]-ent[i][j])) > tl.Atol {
						t.Errorf("sequence %d token %d: alone (%v, %v), in batch (%v, %v)", i, j, lp1[0][j], ent1[0][j], lp[i][j], ent[i][j])
					}
				}
			}
		})
	}
}

// TestLlamaAccumulateWithEntropyMatchesAccumulate: with a zero entropy
// gradient the entropy graph gives Accumulate's loss and gradients.
func TestLlamaAccumulateWithEntropyMatchesAccumulate(t *testing.T) {
	c := tinyLlamaConfigs[0].cfg
	m := tinyLlama(t, c, 1)
	l1, err := m.Accumulate(tinyLlamaBatch, 0.9, fixedObjective(3))
	if err != nil {
		t.Fatal(err)
	}
	g1 := make([][]float32, len(m.grad))
	for i, g := range m.grad {
		g1[i] = append([]float32(nil), g...)
	}
	m.ZeroGrad()
	obj := fixedObjective(3)
	l2, err := m.AccumulateWithEntropy(tinyLlamaBatch, 0.9, func(lp, _ [][]float64) (float64, [][]float64, [][]float64, error) {
		l, d, err := obj(lp)
		return l, d, nil, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(l1-l2) > 1e-9 {
		t.Errorf("loss %v vs %v", l1, l2)
	}
	for i, g := range m.grad {
		for j, v := range g {
			if math.Abs(float64(v-g1[i][j])) > 1e-6 {
				t.Fatalf("%s[%d]: %v vs %v", m.names[i], j, v, g1[i][j])
			}
		}
	}
}

func TestLlamaGenerateLogProbsAgreeWithTrainingForward(t *testing.T) {
	tl := loadTol(t, "logprob_agreement")
	prompts := [][]int32{{1, 5, 6, 7}, {1, 8}, {1, 4, 4, 4, 9, 10, 3, 5, 6}}
	params := []struct {
		p      data.GenParams
		scoreT float64
	}{
		{data.GenParams{Temperature: 0.8, TopK: 5, TopP: 0.95, MaxNewTokens: 6}, 0.8},
		{data.GenParams{Temperature: 1.3, MaxNewTokens: 6}, 1.3},
		{data.GenParams{Greedy: true, MaxNewTokens: 6}, 1},
	}
	for k, c := range tinyLlamaConfigs {
		m := tinyLlama(t, c.cfg, uint64(k+1))
		for _, pc := range params {
			reqs := genRequests(prompts, 2)
			res, err := m.Generate(context.Background(), 42, reqs, pc.p)
			if err != nil {
				t.Fatal(err)
			}
			var b SeqBatch
			for i, r := range res {
				if len(r.Tokens) == 0 || len(r.Tokens) != len(r.Logprobs) {
					t.Fatalf("%s: request %d: %d tokens, %d log-probs", c.name, i, len(r.Tokens), len(r.Logprobs))
				}
				b.Prompts = append(b.Prompts, reqs[i].PromptTokens)
				b.Completions = append(b.Completions, r.Tokens)
			}
			lp, _, err := m.LogProbs(b, pc.scoreT)
			if err != nil {
				t.Fatal(err)
			}
			for i := range res {
				for j, want := range res[i].Logprobs {
					if !tl.ok(float64(lp[i][j]), float64(want)) {
						t.Errorf("%s %+v: request %d token %d: training %.7g, inference %.7g", c.name, pc.p, i, j, lp[i][j], want)
					}
				}
			}
		}
	}
}

// TestLlamaGenerateStopsAndLimits covers eos/stop tokens, the position
// limit and prompt validation.
func TestLlamaGenerateStopsAndLimits(t *testing.T) {
	c := tinyLlamaConfigs[1].cfg // eos 2 and 3, 16 positions
	m := tinyLlama(t, c, 7)
	res, err := m.Generate(context.Background(), 1, genRequests([][]int32{{1, 5}}, 16), data.GenParams{Temperature: 2, MaxNewTokens: 40, StopTokens: []int32{4}})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		last := r.Tokens[len(r.Tokens)-1]
		switch r.FinishReason {
		case data.FinishStop:
			if last != 2 && last != 3 && last != 4 {
				t.Errorf("request %d stopped on %d", i, last)
			}
		case data.FinishLength:
			if 2+len(r.Tokens) != c.MaxPositions {
				t.Errorf("request %d: length stop after %d tokens", i, len(r.Tokens))
			}
		}
		for _, tok := range r.Tokens[:len(r.Tokens)-1] {
			if tok == 2 || tok == 3 || tok == 4 {
				t.Errorf("request %d continued past stop token %d", i, tok)
			}
		}
	}
	long := make([]int32, c.MaxPositions)
	if _, err := m.Generate(context.Background(), 1, genRequests([][]int32{long}, 1), data.GenParams{}); !errors.Is(err, ErrInput) ||
		!strings.Contains(err.Error(), "max_position_embeddings") {
		t.Errorf("over-long prompt: %v", err)
	}
	if _, err := m.Generate(context.Background(), 1, genRequests([][]int32{{1, 11}}, 1), data.GenParams{}); !errors.Is(err, ErrInput) {
		t.Errorf("token outside vocabulary: %v", err)
	}
}

func TestLlamaCloneIsIndependent(t *testing.T) {
	m := tinyLlama(t, tinyLlamaConfigs[2].cfg, 3)
	c := m.Clone().(*LlamaModel)
	m.Params()[0].Value[0] += 1
	if c.Params()[0].Value[0] == m.Params()[0].Value[0] {
		t.Fatal("clone shares weights")
	}
	if m.Kind() != KindHF || c.NumParams() != m.NumParams() {
		t.Fatalf("kind %q, params %d vs %d", m.Kind(), c.NumParams(), m.NumParams())
	}
}
