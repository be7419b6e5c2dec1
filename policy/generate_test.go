package policy

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// genModel is a small model with weights scaled so that next-token
// distributions are far from uniform.
func genModel(t testing.TB, positions string) *Model {
	t.Helper()
	m, err := NewModel(Config{Layers: 2, DModel: 32, Heads: 4, DFF: 64, Context: 32, Causal: true, Positions: positions, InitSeed: 9})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for i, name := range m.names {
		if len(m.shapes[i]) == 2 {
			x := m.w[i].Data().([]float32)
			for j := range x {
				x[j] = float32(0.5 * rng.NormFloat64())
			}
		}
		_ = name
	}
	return m
}

func genRequests(prompts [][]int32, samples int) []data.GenRequest {
	var reqs []data.GenRequest
	for i, p := range prompts {
		for s := 0; s < samples; s++ {
			reqs = append(reqs, data.GenRequest{PromptID: uint64(100 + i), SampleIdx: int32(s), PromptTokens: p})
		}
	}
	return reqs
}

var genPrompts = [][]int32{{1, 60, 61, 62}, {1, 70}, {1, 80, 81, 82, 83, 84, 85, 86, 87, 88}}

func TestGenerateLogProbsAgreeWithTrainingForward(t *testing.T) {
	tl := loadTol(t, "logprob_agreement")
	cases := []struct {
		name      string
		positions string
		p         data.GenParams
		scoreT    float64
	}{
		{"learned positions at temperature 0.8 with top-k and top-p", "learned", data.GenParams{Temperature: 0.8, TopK: 40, TopP: 0.95, MaxNewTokens: 12}, 0.8},
		{"rotary positions at temperature 1.3", "rotary", data.GenParams{Temperature: 1.3, MaxNewTokens: 12}, 1.3},
		{"greedy decoding scores at temperature 1", "learned", data.GenParams{Greedy: true, MaxNewTokens: 12}, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := genModel(t, c.positions)
			reqs := genRequests(genPrompts, 3)
			res, err := m.Generate(context.Background(), 42, reqs, c.p)
			if err != nil {
				t.Fatal(err)
			}
			var b SeqBatch
			for i, r := range res {
				if len(r.Tokens) == 0 || len(r.Tokens) != len(r.Logprobs) {
					t.Fatalf("request %d: %d tokens, %d log-probs", i, len(r.Tokens), len(r.Logprobs))
				}
				b.Prompts = append(b.Prompts, reqs[i].PromptTokens)
				b.Completions = append(b.Completions, r.Tokens)
			}
			lp, ent, err := m.LogProbs(b, c.scoreT)
			if err != nil {
				t.Fatal(err)
			}
			for i := range res {
				for j, want := range res[i].Logprobs {
					if !tl.ok(float64(lp[i][j]), float64(want)) {
						t.Errorf("request %d token %d: training %.7g, inference %.7g", i, j, lp[i][j], want)
					}
					if ent[i][j] < 0 || float64(ent[i][j]) > math.Log(float64(m.cfg.Vocab))+1e-4 {
						t.Errorf("request %d token %d: entropy %v outside [0, log V]", i, j, ent[i][j])
					}
				}
			}
		})
	}
}

func TestGenerateDoesNotDependOnBatchComposition(t *testing.T) {
	tl := loadTol(t, "batch_independence")
	m := genModel(t, "learned")
	p := data.GenParams{Temperature: 1, TopP: 0.9, MaxNewTokens: 10}
	reqs := genRequests(genPrompts, 4)
	all, err := m.Generate(context.Background(), 7, reqs, p)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 5, 11} {
		alone, err := m.Generate(context.Background(), 7, reqs[i:i+1], p)
		if err != nil {
			t.Fatal(err)
		}
		if !equalResult(alone[0], all[i], tl.Atol) {
			t.Errorf("request %d alone %v, in batch %v", i, alone[0], all[i])
		}
	}
	other, err := m.Generate(context.Background(), 8, reqs, p)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range other {
		if equalResult(other[i], all[i], 0) {
			same++
		}
	}
	if same == len(other) {
		t.Error("a different seed produced identical samples")
	}
}

func equalResult(a, b data.GenResult, atol float64) bool {
	if len(a.Tokens) != len(b.Tokens) || a.FinishReason != b.FinishReason {
		return false
	}
	for i := range a.Tokens {
		if a.Tokens[i] != b.Tokens[i] || math.Abs(float64(a.Logprobs[i]-b.Logprobs[i])) > atol {
			return false
		}
	}
	return true
}

func TestGenerateIsSafeForConcurrentCallers(t *testing.T) {
	m := genModel(t, "rotary")
	p := data.GenParams{Temperature: 0.9, MaxNewTokens: 6}
	reqs := genRequests(genPrompts, 2)
	want, err := m.Generate(context.Background(), 3, reqs, p)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := m.Generate(context.Background(), 3, reqs, p)
			if err == nil {
				for i := range got {
					if !equalResult(got[i], want[i], 0) {
						err = errors.New("concurrent result differs")
					}
				}
			}
			errs[g] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestGenerateStopsAsConfigured(t *testing.T) {
	m := genModel(t, "learned")
	greedy := data.GenParams{Greedy: true, MaxNewTokens: 5}
	base, err := m.Generate(context.Background(), 1, genRequests(genPrompts[:1], 1), greedy)
	if err != nil {
		t.Fatal(err)
	}
	first := base[0].Tokens[0]
	long := make([]int32, m.cfg.Context-2)
	for i := range long {
		long[i] = int32(8 + i)
	}
	cases := []struct {
		name    string
		prompt  []int32
		p       data.GenParams
		wantLen int
		reason  string
	}{
		{"max new tokens ends with length", genPrompts[0], data.GenParams{Temperature: 1, MaxNewTokens: 3, StopTokens: []int32{}}, 3, data.FinishLength},
		{"a stop token ends with stop and is kept", genPrompts[0], data.GenParams{Greedy: true, MaxNewTokens: 5, StopTokens: []int32{first}}, 1, data.FinishStop},
		{"the context limit ends with length", long, data.GenParams{Greedy: true, MaxNewTokens: 10}, 2, data.FinishLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, err := m.Generate(context.Background(), 1, []data.GenRequest{{PromptTokens: c.prompt}}, c.p)
			if err != nil {
				t.Fatal(err)
			}
			r := res[0]
			for _, tok := range r.Tokens[:len(r.Tokens)-1] {
				if tok == 2 {
					t.Fatalf("tokens %v continue after EOS", r.Tokens)
				}
			}
			if r.Tokens[len(r.Tokens)-1] == 2 {
				if r.FinishReason != data.FinishStop {
					t.Fatalf("EOS ended with %q", r.FinishReason)
				}
				return
			}
			if len(r.Tokens) != c.wantLen || r.FinishReason != c.reason {
				t.Fatalf("got %d tokens (%q), want %d (%q)", len(r.Tokens), r.FinishReason, c.wantLen, c.reason)
			}
		})
	}
}

func TestGenerateRejectsBadRequests(t *testing.T) {
	m := genModel(t, "learned")
	cases := []struct {
		name string
		req  data.GenRequest
	}{
		{"an empty prompt", data.GenRequest{}},
		{"a prompt filling the context", data.GenRequest{PromptTokens: make([]int32, 32)}},
		{"a token outside the vocabulary", data.GenRequest{PromptTokens: []int32{1, 999}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := m.Generate(context.Background(), 1, []data.GenRequest{c.req}, data.GenParams{})
			if !errors.Is(err, ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
		})
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := m.Generate(ctx, 1, genRequests(genPrompts, 1), data.GenParams{MaxNewTokens: 8}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: err = %v", err)
	}
}

func TestSamplerTruncation(t *testing.T) {
	row := []float32{0.1, 3, 2.5, -1, 2.9, 0}
	sp := newSampler(len(row))
	rng := rand.New(rand.NewPCG(1, 1))
	cases := []struct {
		name    string
		p       data.GenParams
		allowed map[int]bool
	}{
		{"top-k 1 is the argmax", data.GenParams{Temperature: 1, TopP: 1, TopK: 1}, map[int]bool{1: true}},
		{"top-k 3 keeps the three best", data.GenParams{Temperature: 1, TopP: 1, TopK: 3}, map[int]bool{1: true, 4: true, 2: true}},
		{"a tiny top-p is the argmax", data.GenParams{Temperature: 1, TopP: 1e-6}, map[int]bool{1: true}},
		{"top-p 0.6 keeps the two best", data.GenParams{Temperature: 1, TopP: 0.6}, map[int]bool{1: true, 4: true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			seen := map[int]bool{}
			for range 300 {
				tok, lp := sp.sample(row, c.p, rng)
				if !c.allowed[tok] {
					t.Fatalf("sampled %d outside %v", tok, c.allowed)
				}
				want, _ := rowLogProb(row, 1, tok)
				if math.Abs(float64(lp)-want) > 1e-6 {
					t.Fatalf("log-prob %v, want full-distribution %v", lp, want)
				}
				seen[tok] = true
			}
			if len(seen) != len(c.allowed) {
				t.Fatalf("sampled %v, want all of %v", seen, c.allowed)
			}
		})
	}
}

func TestLogProbsMatchAccumulateExactly(t *testing.T) {
	m := tinyModel(t, tinyConfigs[0].cfg)
	lp, _, err := m.LogProbs(tinyBatch, 0.7)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.Accumulate(tinyBatch, 0.7, func(got [][]float64) (float64, [][]float64, error) {
		d := make([][]float64, len(got))
		for i := range got {
			d[i] = make([]float64, len(got[i]))
			for j, v := range got[i] {
				if float32(v) != lp[i][j] {
					t.Errorf("sequence %d token %d: Accumulate %v, LogProbs %v", i, j, v, lp[i][j])
				}
			}
		}
		return 0, d, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
