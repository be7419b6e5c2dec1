package bench

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/policy/learn"
)

// sftCheckpoint warm-starts a tiny causal policy as pipeline's small test
// run does (one layer, d=32, 20 SFT steps, 24-token held-out answers) and
// returns its run directory.
func sftCheckpoint(t *testing.T) string {
	t.Helper()
	cfg := pipeline.DefaultRunConfig()
	m := &cfg.Policy.Model
	m.Layers, m.DModel, m.Heads, m.DFF, m.Context = 1, 32, 2, 64, 64
	cfg.SFT.Steps, cfg.SFT.BatchSize, cfg.SFT.Examples = 20, 8, 200
	cfg.Data.TrainSize, cfg.Rollout.MaxNewTokens, cfg.Eval.N = 6, 24, 8
	dir := t.TempDir()
	if _, err := pipeline.RunSFT(context.Background(), cfg, pipeline.RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBenchBVPOReportsEveryEstimator(t *testing.T) {
	dir := sftCheckpoint(t)
	for _, norm := range []string{"", learn.BVPONormalizePairs} {
		t.Run("normalize "+norm, func(t *testing.T) {
			res, err := BVPO(context.Background(), BVPOOptions{Checkpoint: dir, Prompts: 3, G: 4, Repeats: 4, RefRepeats: 3, MaxNewTokens: 24,
				// The tiny policy never answers right; a length penalty still ranks
				// its samples, so that every group yields a DPO pair.
				Reward: "length(max_len=24,buffer=22)", Normalize: norm})
			if err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"trace", "empty", "alpha_0.5", "alpha_star"} {
				m, ok := res.MSE[k]
				if !ok || math.IsNaN(m.MSE) || m.MSE < 0 || m.CI[0] > m.MSE || m.CI[1] < m.MSE {
					t.Errorf("mse[%q] = %+v (present %v)", k, m, ok)
				}
			}
			for _, k := range []string{"trace_x0.5", "trace_x_alpha_star"} {
				if m, ok := res.Controls[k]; !ok || math.IsNaN(m.MSE) || m.MSE < 0 {
					t.Errorf("controls[%q] = %+v (present %v)", k, m, ok)
				}
			}
			if res.AlphaStar < 0 || res.AlphaStar > 1 || res.RefNorm2 <= 0 {
				t.Errorf("alpha* = %v, ‖g_ref‖² = %v", res.AlphaStar, res.RefNorm2)
			}
			// With G/2 = 2 the tiny policy's empty-trace samples may never
			// differ in reward (a zero gradient every repeat), so only the
			// trace variance must be positive.
			if ms := res.MixStats; ms.VarTrace <= 0 || ms.VarEmpty < 0 || ms.BiasTrace2 < 0 || ms.BiasEmpty2 < 0 || math.IsNaN(ms.Cov+ms.BiasDot) {
				t.Errorf("mix stats = %+v", ms)
			}
			want := norm
			if want == "" {
				want = learn.BVPONormalizeGroups // the default
			}
			if res.Normalize != want || res.Prompts != 3 || res.G != 4 || res.RefRepeats != 3 {
				t.Errorf("design echo = %q, %d prompts, G %d, %d ref repeats", res.Normalize, res.Prompts, res.G, res.RefRepeats)
			}
		})
	}
}

func TestBenchBVPORejectsUnequalBudgets(t *testing.T) {
	// Validation runs before the checkpoint is read, so no checkpoint is
	// needed to see these errors.
	for _, tc := range []struct {
		name string
		o    BVPOOptions
		msg  string
	}{
		{"odd G cannot be halved between the modes", BVPOOptions{G: 7}, "--g 7 must be even"},
		{"negative G", BVPOOptions{G: -2}, "--g -2"},
		{"unknown normalisation", BVPOOptions{Normalize: "tokens"}, `--normalize "tokens"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Checkpoint = t.TempDir()
			_, err := BVPO(context.Background(), tc.o)
			if !errors.Is(err, pipeline.ErrConfig) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrConfig mentioning %q", err, tc.msg)
			}
		})
	}
}
