package pipeline

import (
	"context"
	"math"
	"testing"
)

func TestBenchBVPOReportsEveryEstimator(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunSFT(context.Background(), smallRunConfig(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	res, err := BenchBVPO(context.Background(), BVPOBenchOptions{Checkpoint: dir, Prompts: 3, G: 4, Repeats: 4, RefRepeats: 3, MaxNewTokens: 24,
		// The tiny policy never answers right; a length penalty still ranks
		// its samples, so that every group yields a DPO pair.
		Reward: "length(max_len=24,buffer=22)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"trace", "empty", "alpha_0.5", "alpha_star"} {
		m, ok := res.MSE[k]
		if !ok || math.IsNaN(m.MSE) || m.MSE < 0 || m.CI[0] > m.MSE || m.CI[1] < m.MSE {
			t.Errorf("mse[%q] = %+v (present %v)", k, m, ok)
		}
	}
	if res.AlphaStar < 0 || res.AlphaStar > 1 || res.RefNorm2 <= 0 {
		t.Errorf("alpha* = %v, ‖g_ref‖² = %v", res.AlphaStar, res.RefNorm2)
	}
}
