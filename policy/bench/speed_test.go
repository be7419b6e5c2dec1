package bench

import (
	"os"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
)

// BenchmarkTrainStep is one Accumulate of the default model on a 16×128
// batch (see Train for the FLOP count).
func BenchmarkTrainStep(b *testing.B) {
	r := Train(policy.DefaultConfig(), 16, 128, 0) // compiles the graph once
	if r.Err != nil {
		b.Fatal(r.Err)
	}
	m, batch, obj := benchTrainSetup(b)
	b.ResetTimer()
	for b.Loop() {
		m.ZeroGrad()
		if _, err := m.Accumulate(batch, 1, obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(16*128*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	b.ReportMetric(r.FLOPsPerIter*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func benchTrainSetup(b *testing.B) (*policy.Model, policy.SeqBatch, policy.LossGradFunc) {
	m, err := policy.NewModel(policy.DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var batch policy.SeqBatch
	for i := range 16 {
		c := make([]int32, 127)
		for j := range c {
			c[j] = int32(8 + (i*31+j*7)%256)
		}
		batch.Prompts, batch.Completions = append(batch.Prompts, []int32{1}), append(batch.Completions, c)
	}
	obj := func(lp [][]float64) (float64, [][]float64, error) {
		d := make([][]float64, len(lp))
		for i := range lp {
			d[i] = make([]float64, len(lp[i]))
			for j := range d[i] {
				d[i][j] = -1.0 / 2032
			}
		}
		return 0, d, nil
	}
	return m, batch, obj
}

func TestBenchFunctionsRunOnATinyModel(t *testing.T) {
	cfg := policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 16, Context: 32, Causal: true}
	if g := Sgemm(32, 0); !(g > 0) {
		t.Fatalf("sgemm GFLOP/s = %v", g)
	}
	for name, r := range map[string]Result{
		"train":    Train(cfg, 2, 20, 0),
		"generate": Generate(cfg, 4, 5, 6, 0),
	} {
		if r.Err != nil || !(r.TokensPerS > 0) || !(r.GFLOPs > 0) || r.Iterations < 1 {
			t.Errorf("%s: %+v", name, r)
		}
	}
}

func TestBenchFunctionsRunOnATinyLlama(t *testing.T) {
	m, err := policy.NewLlamaRandom(policy.LlamaConfig{Architecture: policy.ArchQwen2, HiddenSize: 8, IntermediateSize: 12,
		Layers: 1, Heads: 2, KVHeads: 1, HeadDim: 4, RMSNormEps: 1e-6, RopeTheta: 10000, MaxPositions: 64, Vocab: 40, BOS: -1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for name, r := range map[string]Result{
		"train":    TrainModel(m, 2, 20, 0),
		"generate": GenerateModel(m, 4, 5, 6, 0),
	} {
		if r.Err != nil || !(r.TokensPerS > 0) || !(r.GFLOPs > 0) || r.Iterations < 1 {
			t.Errorf("%s: %+v", name, r)
		}
		if _, err := os.Stat("/proc/self/status"); err == nil && r.PeakRSS <= 0 {
			t.Errorf("%s: peak RSS %d on a machine with /proc", name, r.PeakRSS)
		}
	}
}

// TestForwardFLOPsCountEveryWeightMatrix checks the analytic counts on
// shapes small enough to enumerate by hand.
func TestForwardFLOPsCountEveryWeightMatrix(t *testing.T) {
	m, err := policy.NewModel(policy.Config{Layers: 2, DModel: 4, Heads: 2, DFF: 8, Context: 16, Vocab: 10, Causal: true})
	if err != nil {
		t.Fatal(err)
	}
	// Per layer: qkv 4×12, o 4×4, mlp 4×8 + 8×4 → 128 weights; attention
	// 4·ctx·D; head 4×10.
	if got, want := m.ForwardFLOPsPerToken(3), 2*(2*128+4*3*4.0)+2*40; got != want {
		t.Errorf("byte model: %v FLOPs, want %v", got, want)
	}
	l, err := policy.NewLlamaRandom(policy.LlamaConfig{Architecture: policy.ArchLlama, HiddenSize: 6, IntermediateSize: 10,
		Layers: 3, Heads: 2, KVHeads: 1, HeadDim: 4, RMSNormEps: 1e-6, RopeTheta: 10000, MaxPositions: 32, Vocab: 7, BOS: -1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Per layer: q 6×8, k and v 6×4 each, o 8×6, gate/up 6×10, down 10×6
	// → 324 weights; attention 4·ctx·(heads·head_dim); head 6×7.
	if got, want := l.ForwardFLOPsPerToken(5), 3*(2*324+4*5*8.0)+2*42; got != want {
		t.Errorf("llama: %v FLOPs, want %v", got, want)
	}
}

func TestParseVmHWM(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
	}{
		{"Name:\tx\nVmPeak:\t  9 kB\nVmHWM:\t    1234 kB\nVmRSS:\t 1 kB\n", 1234 << 10},
		{"VmRSS:\t 1 kB\n", 0},
		{"VmHWM:\t 12 MB\n", 0},
		{"VmHWM:\t x kB\n", 0},
	} {
		if got := parseVmHWM([]byte(tc.in)); got != tc.want {
			t.Errorf("parseVmHWM(%q) = %d, want %d", tc.in, got, tc.want)
		}
	}
}
