package report

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
)

// splitmix is a SplitMix64 stream: the test generator's only source of
// randomness, so every run of the tests writes the same files.
type splitmix struct{ s rng.Stream }

func newSplitmix(seed uint64) *splitmix { return &splitmix{s: rng.NewStream(seed)} }

func (s *splitmix) float() float64 { return s.s.Float64() }

// synthRun is a generated run: the rows written and the modes evaluated.
type synthRun struct {
	metrics []map[string]any
	eval    []map[string]any
}

// makeRun generates steps metrics rows and an eval every evalEvery steps
// (from step 0) for two modes; evalEvery 0 writes no eval rows.
func makeRun(seed uint64, steps, evalEvery int) synthRun {
	rng := newSplitmix(seed)
	var r synthRun
	for s := 1; s <= steps; s++ {
		f := float64(s) / float64(steps)
		acc := 0.2 + 0.5*f + 0.1*rng.float()
		r.metrics = append(r.metrics, map[string]any{
			"step": s, "reward_mean": 0.1 + 0.6*f + 0.2*rng.float(), "reward_std": 0.2 + 0.1*rng.float(),
			"reward_parts":     map[string]any{"correct": acc, "format": 0.8 + 0.2*rng.float()},
			"accuracy":         acc,
			"accuracy_by_mode": map[string]any{"trace": acc + 0.05, "empty": acc - 0.05},
			"advantage_mean":   0.0, "advantage_std": 0.9 + 0.1*rng.float(), "zero_std_group_frac": 0.3 * rng.float(),
			"loss": 0.5 - 0.3*f, "pg_loss": 0.4 - 0.3*f, "kl": 0.01 * f * rng.float(), "approx_kl": 0.012 * f,
			"clip_frac_low": 0.02 * rng.float(), "clip_frac_high": 0.03 * rng.float(), "clip_frac_dual": 0.001,
			"ratio_mean": 1 + 0.01*rng.float(), "ratio_max": 1.2 + rng.float(),
			"grad_norm": 2 * rng.float(), "lr": 1e-4 * math.Min(1, 4*f),
			"response_length_mean": 40 + 30*rng.float(), "response_length_max": 128.0,
			"truncation_rate": 0.1 * rng.float(),
			"dropped_groups":  int(3 * rng.float()), "filtered_groups": int(5 * rng.float()),
			"reward_errors": int(4 * rng.float()), "train_rows": 64,
			"sampler": map[string]any{"sampling/mean_vps_picked": 0.1 * rng.float(), "sampling/weighted_share": 0.5},
			"timing": map[string]any{"rollout_busy_s": 1 + rng.float(), "reward_busy_s": 0.2 * rng.float(),
				"learner_busy_s": 0.5 + rng.float(), "tokens_per_s": 1000 + 500*rng.float()},
			// Fields the report does not know must not disturb it.
			"future_metric": map[string]any{"nested": []any{1, "x"}}, "note": "hello", "flag": true,
		})
	}
	for st := 0; evalEvery > 0 && st <= steps; st += evalEvery {
		for _, mode := range []string{"trace", "empty"} {
			p := 0.25 + 0.4*float64(st)/float64(steps) + 0.05*rng.float()
			r.eval = append(r.eval, map[string]any{"step": st, "split": "test", "mode": mode,
				"accuracy": p, "stderr": math.Sqrt(p * (1 - p) / 200), "n": 200, "mean_length": 50.0})
		}
	}
	return r
}

// writeJSONL writes rows one a line into dir/name.
func writeJSONL(t testing.TB, dir, name string, rows []map[string]any) {
	t.Helper()
	var b []byte
	for _, r := range rows {
		line, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, line...), '\n')
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func num(t testing.TB, m map[string]any, path ...string) float64 {
	t.Helper()
	var cur any = m
	for _, k := range path {
		cur = cur.(map[string]any)[k]
	}
	switch v := cur.(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	t.Fatalf("%v: %T is not a number", path, cur)
	return 0
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want)
}
