package bench

import (
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
