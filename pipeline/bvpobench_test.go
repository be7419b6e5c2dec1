package pipeline

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/learn"
)

func TestBenchBVPOReportsEveryEstimator(t *testing.T) {
	dir := t.TempDir()
	if _, err := RunSFT(context.Background(), smallRunConfig(), RunOptions{OutDir: dir}); err != nil {
		t.Fatal(err)
	}
	for _, norm := range []string{"", learn.BVPONormalizePairs} {
		t.Run("normalize "+norm, func(t *testing.T) {
			res, err := BenchBVPO(context.Background(), BVPOBenchOptions{Checkpoint: dir, Prompts: 3, G: 4, Repeats: 4, RefRepeats: 3, MaxNewTokens: 24,
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
		o    BVPOBenchOptions
		msg  string
	}{
		{"odd G cannot be halved between the modes", BVPOBenchOptions{G: 7}, "--g 7 must be even"},
		{"negative G", BVPOBenchOptions{G: -2}, "--g -2"},
		{"unknown normalisation", BVPOBenchOptions{Normalize: "tokens"}, `--normalize "tokens"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.o.Checkpoint = t.TempDir()
			_, err := BenchBVPO(context.Background(), tc.o)
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err = %v, want ErrConfig mentioning %q", err, tc.msg)
			}
		})
	}
}
