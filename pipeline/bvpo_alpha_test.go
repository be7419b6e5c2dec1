package pipeline

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/config"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
)

// A run whose steps have fewer groups per mode than alpha auto needs
// completes, trains with the fallback α and logs every fallback.
func TestBVPOAutoAlphaRunWithFewPromptsCompletes(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = learn.NameBVPO
	cfg.Algorithm.BVPO.Alpha = learn.AutoAlpha()
	cfg.Train.Steps, cfg.Train.PromptsPerStep = 2, 3
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	for i, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.Algo["bvpo_alpha_fallback"] != 1 || m.Algo["bvpo/alpha"] != 0.5 {
			t.Errorf("step %d: algo metrics %v, want alpha 0.5 and alpha_fallback 1", i+1, m.Algo)
		}
	}
}

func TestBVPOBiasMomentumIsAValidatedConfigKey(t *testing.T) {
	cases := []struct {
		value string
		ok    bool
	}{{"0", true}, {"0.5", true}, {"0.99", true}, {"1", false}, {"-0.1", false}, {".nan", false}}
	for _, tc := range cases {
		t.Run(tc.value, func(t *testing.T) {
			cfg := DefaultRunConfig()
			err := config.Load(&cfg, nil, []string{"algorithm.bvpo.bias_momentum=" + tc.value})
			if tc.ok != (err == nil) {
				t.Fatalf("err = %v, want ok %v", err, tc.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), "algorithm.bvpo") || !strings.Contains(err.Error(), "bias_momentum")) {
				t.Errorf("error %q does not name algorithm.bvpo bias_momentum", err)
			}
		})
	}
}

// An alpha-auto run interrupted after step 2 and resumed ends bit for bit
// like the uninterrupted run: weights, optimizer, sampler and every metric
// including α, which needs the estimator's state in the checkpoint.
func TestBVPOAutoAlphaResumeIsBitIdentical(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = learn.NameBVPO
	cfg.Algorithm.BVPO.Alpha = learn.AutoAlpha()
	cfg.Train.PromptsPerStep = 4
	// A length-shaped reward differs within most groups, so DPO pairs exist
	// and α moves (the math reward is 0 for every sample of this tiny policy).
	cfg.Reward = reward.Config{Spec: "length(max_len=24,buffer=22)"}
	full := assertResumeBitIdentical(t, cfg, policyfile.ModelFile, samplerFile, optimizerFile)
	checkAlphaMoved(t, full)
}

// checkAlphaMoved fails unless α left 0.5 from an estimate (not a fallback)
// before the last step, so that a resume that restarted α would show.
func checkAlphaMoved(t *testing.T, dir string) {
	t.Helper()
	lines := readLines(t, filepath.Join(dir, metricsFile))
	for _, line := range lines[:len(lines)-1] {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.Algo["bvpo_alpha_fallback"] == 0 && m.Algo["bvpo/alpha"] != 0.5 {
			return
		}
	}
	t.Fatal("alpha never moved from 0.5; the test proves nothing")
}
