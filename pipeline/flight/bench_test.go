package flight

import (
	"context"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// echoModel "generates" 64 fixed tokens per sequence at no cost, so that a
// benchmark measures the Flight path (encode, send, decode) alone.
type echoModel struct{}

func (echoModel) Generate(_ context.Context, _ uint64, reqs []data.GenRequest, _ data.GenParams) ([]data.GenResult, error) {
	out := make([]data.GenResult, len(reqs))
	for i := range out {
		toks := make([]int32, 64)
		lps := make([]float32, 64)
		for j := range toks {
			toks[j] = int32(40 + (j+i)%50)
			lps[j] = -0.5
		}
		out[i] = data.GenResult{Tokens: toks, Logprobs: lps, FinishReason: data.FinishLength}
	}
	return out, nil
}

// BenchmarkRolloutPoolTransport measures rows/s through two loopback
// rollout workers with a free model (1024 prompts × G 8).
func BenchmarkRolloutPoolTransport(b *testing.B) {
	var addrs []string
	for range 2 {
		ts, srv := rolloutWorker(b, RolloutServerConfig{})
		srv.SetModel(1, echoModel{}, nil)
		addrs = append(addrs, ts.Addr())
	}
	rp, err := NewRolloutPool(addrs)
	if err != nil {
		b.Fatal(err)
	}
	defer rp.Close()
	for _, w := range rp.pool.workers {
		w.has[1] = true // the echo model is installed already
	}
	req := testRequest(testPrompts(1024), 1)
	req.G, req.Modes = 8, nil
	g := rp.Generator(1, nil)
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		rows, err := g.Generate(context.Background(), req)
		if err != nil || len(rows) != req.Rows() {
			b.Fatal(err, len(rows))
		}
	}
	b.ReportMetric(float64(b.N*req.Rows())/time.Since(start).Seconds(), "rows/s")
}

// BenchmarkRewardPoolTransport measures rows/s through two loopback reward
// workers with a trivial reward (8192 rows of 64 tokens).
func BenchmarkRewardPoolTransport(b *testing.B) {
	s, err := reward.NewScorer(reward.Config{Spec: "flight_test_flaky"})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var addrs []string
	for range 2 {
		addrs = append(addrs, serve(b, NewRewardServer(s, nil)).Addr())
	}
	rp, err := NewRewardPool(addrs)
	if err != nil {
		b.Fatal(err)
	}
	defer rp.Close()
	rows := testRollouts(1024, 4, false)
	for i := range rows {
		rows[i].CompletionTokens = make([]int32, 64)
		rows[i].Logprobs = make([]float32, 64)
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := rp.Score(context.Background(), rows); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(rows))/time.Since(start).Seconds(), "rows/s")
}
