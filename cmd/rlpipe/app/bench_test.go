package app

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/bench"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-12+1e-9*math.Abs(b) }

func TestBenchPipelineReportsStageRatio(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	out, stderr, code := cli(t, "bench", "pipeline", "--config", cfg, "--steps", "3", "--set", "checkpoint.every=0", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var res struct {
		StepWallS    *float64                      `json:"step_wall_s"`
		SlowestBusyS *float64                      `json:"slowest_stage_busy_s"`
		Ratio        *float64                      `json:"ratio"`
		SlowestStage string                        `json:"slowest_stage"`
		Stages       map[string]map[string]float64 `json:"stages"`
		MaxStaleness *int                          `json:"max_staleness"`
		Steps        int                           `json:"steps"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench pipeline --json = %q: %v", out, err)
	}
	if res.StepWallS == nil || res.SlowestBusyS == nil || res.Ratio == nil || res.MaxStaleness == nil {
		t.Fatalf("missing fields in %s", out)
	}
	if *res.StepWallS <= 0 || *res.SlowestBusyS <= 0 || !near(*res.Ratio, *res.StepWallS / *res.SlowestBusyS) {
		t.Errorf("step_wall_s %v, slowest_stage_busy_s %v, ratio %v: want positive times and their quotient",
			*res.StepWallS, *res.SlowestBusyS, *res.Ratio)
	}
	if *res.MaxStaleness != 1 || res.Steps != 3 {
		t.Errorf("max_staleness %d, steps %d; want the bench default 1 and --steps 3", *res.MaxStaleness, res.Steps)
	}
	for _, name := range bench.Stages {
		if _, ok := res.Stages[name]["busy_s"]; !ok {
			t.Errorf("stages lacks %s.busy_s: %s", name, out)
		}
	}
	if res.Stages[res.SlowestStage]["busy_s"] != *res.SlowestBusyS {
		t.Errorf("slowest_stage %q does not carry slowest_stage_busy_s: %s", res.SlowestStage, out)
	}
}

// tinyPolicy saves a freshly initialised policy of kind in a new directory.
func tinyPolicy(t *testing.T, kind string) string {
	t.Helper()
	return tinyPolicyOf(t, kind, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, InitSeed: 1})
}

// tinyPolicyOf saves a freshly initialised policy of kind and cfg in a new
// directory.
func tinyPolicyOf(t *testing.T, kind string, cfg policy.Config) string {
	t.Helper()
	pol, err := policyfile.New(kind, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pol.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestBenchELBOOnTinyDiffusionCheckpoint(t *testing.T) {
	dir := tinyPolicy(t, policy.KindDiffusion)
	args := []string{"bench", "elbo", "--checkpoint", dir, "--n", "3", "--passes", "1,2", "--ref-passes", "8", "--max-new-tokens", "6", "--json"}
	out, stderr, code := cli(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var res bench.ELBOResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("bench elbo --json = %q: %v", out, err)
	}
	if res.Canvas != 6 || res.MeanCompletion < 1 || res.MeanCompletion > 6 {
		t.Errorf("canvas %d, mean completion %v: want the 6-token canvas and answers within it", res.Canvas, res.MeanCompletion)
	}
	var raw map[string]any
	json.Unmarshal([]byte(out), &raw)
	if ci := res.RatioAt2CI; res.RatioAt2 == nil || ci == nil || !(ci[0] <= ci[1]) || ci[0] < 0 {
		t.Errorf("ratio at 2 passes %v with interval %v", res.RatioAt2, ci)
	}
	for _, key := range []string{"estimators", "variance_ratio_sdmc_vs_double_mc", "variance_ratio_sdmc_vs_double_mc_ci95",
		"variance_ratio_sdmc_vs_double_mc_batch", "variance_ratio_sdmc_vs_double_mc_batch_ci95", "variance_ratios"} {
		if raw[key] == nil {
			t.Errorf("no %q in %s", key, out)
		}
	}
	seen := map[string]bool{}
	for _, r := range res.Estimators {
		seen[r.Name+"@"+string(rune('0'+r.Passes))] = true
		wantMethod := map[string]string{"sdmc": "count_moments", "double_mc": "count_moments", "double_mc_batch": "count_moments"}[r.Name]
		if wantMethod == "" {
			wantMethod = "monte_carlo"
		}
		if r.Method != wantMethod {
			t.Errorf("row %s: method %q, want %q", r.Name, r.Method, wantMethod)
		}
		if !(r.Variance >= 0) || r.VarianceCI[0] > r.VarianceCI[1] || r.BiasCI[0] > r.BiasCI[1] || math.IsNaN(r.Bias) {
			t.Errorf("row %+v: want a non-negative variance and ordered intervals", r)
		}
	}
	for _, name := range []string{"sdmc", "double_mc", "double_mc_batch", "one_step"} {
		for _, p := range []string{"1", "2"} {
			if !seen[name+"@"+p] {
				t.Errorf("no row for %s at %s passes in %s", name, p, out)
			}
		}
	}
	if res.Sequences != 3 || res.RatioAt2 == nil || !(*res.RatioAt2 > 0) {
		t.Errorf("sequences %d, ratio %v: want 3 and a positive ratio", res.Sequences, res.RatioAt2)
	}
	if len(res.Ratios) != 2*5 {
		t.Errorf("%d variance ratios, want sdmc and sdmc_cyclic over double_mc and double_mc_batch, and sdmc_cyclic over double_mc_cyclic, at 2 budgets", len(res.Ratios))
	}
	for _, r := range res.Ratios {
		if r.Numerator == "sdmc" && r.Denominator == "double_mc_batch" && r.Passes == 2 &&
			(res.BatchRatioAt2 == nil || *res.BatchRatioAt2 != r.Ratio || *res.BatchRatioAt2CI != r.CI95) {
			t.Errorf("variance_ratio_sdmc_vs_double_mc_batch %v disagrees with variance_ratios %+v", res.BatchRatioAt2, r)
		}
	}
	t.Run("the same seed gives the same numbers", func(t *testing.T) {
		again, _, code := cli(t, args...)
		if code != 0 || again != out {
			t.Fatalf("exit %d; second run differs:\n%s\n%s", code, out, again)
		}
	})
	t.Run("the table names every estimator and the ratio", func(t *testing.T) {
		table, stderr, code := cli(t, args[:len(args)-1]...)
		if code != 0 || !strings.Contains(table, "one_step") || !strings.Contains(table, "variance ratio sdmc/double_mc at 2 passes") ||
			!strings.Contains(table, "variance ratio sdmc/double_mc_batch at 2 passes") {
			t.Fatalf("exit %d (%s):\n%s", code, stderr, table)
		}
	})
}

func TestBenchUsageErrors(t *testing.T) {
	ar := tinyPolicy(t, policy.KindAR)
	checkUsageErrors(t, []usageCase{
		{"elbo needs a checkpoint", []string{"bench", "elbo"}, "--checkpoint"},
		{"elbo refuses an autoregressive checkpoint", []string{"bench", "elbo", "--checkpoint", ar}, "diffusion"},
		{"elbo refuses a zero budget", []string{"bench", "elbo", "--checkpoint", ar, "--passes", "0"}, "--passes"},
		{"pipeline needs a step after the warm-up", []string{"bench", "pipeline", "--steps", "1"}, "--steps"},
		{"elbo needs two masks per count", []string{"bench", "elbo", "--checkpoint", ar, "--count-reps", "1"}, "--count-reps"},
		{"an unknown benchmark is a usage error naming the subcommands", []string{"bench", "nope"}, "elbo, pipeline"},
		{"random weights need a model", []string{"bench", "train", "--random-weights"}, "--model"},
		{"workload sizes are positive", []string{"bench", "generate", "--streams", "-1"}, "positive"},
	})
}

// eval takes a diffusion policy's denoising schedule from the command line.
func TestEvalDiffusionScheduleFlags(t *testing.T) {
	dir := tinyPolicy(t, policy.KindDiffusion)
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"one token per step, left to right", []string{"--diffusion-steps", "8", "--diffusion-block-len", "1"}, 0},
		{"two blocks", []string{"--diffusion-steps", "4", "--diffusion-block-len", "4"}, 0},
		{"negative steps are refused", []string{"--diffusion-steps", "-1"}, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"eval", "--checkpoint", dir, "--n", "4", "--max-new-tokens", "8", "--json"}, c.args...)
			out, stderr, code := cli(t, args...)
			if (code == 0) != (c.code == 0) {
				t.Fatalf("exit %d, want %d\n%s\n%s", code, c.code, out, stderr)
			}
			if code == 0 && !strings.Contains(out, `"accuracy"`) {
				t.Fatalf("no accuracy in %s", out)
			}
		})
	}
}

// TestBenchMeasuresAModelDirectory runs train and generate on a Hugging
// Face directory (its weights, then only its config.json with
// --random-weights) and on an rlpipe checkpoint, and refuses a diffusion
// policy.
func TestBenchMeasuresAModelDirectory(t *testing.T) {
	hf := hftest.TinyLlama(t)
	configOnly := t.TempDir()
	raw, err := os.ReadFile(filepath.Join(hf, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(configOnly, "config.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	small := []string{"--duration", "1ms", "--n", "32", "--batch", "2", "--seq-len", "12", "--streams", "8", "--prompt-len", "3", "--new-tokens", "4", "--json"}
	for _, model := range [][]string{{"--model", hf}, {"--model", configOnly, "--random-weights"}, {"--model", tinyPolicyOf(t, policy.KindAR, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Causal: true})}} {
		out, stderr, code := cli(t, append(append([]string{"bench"}, model...), small...)...)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", model, code, stderr)
		}
		var rows []struct {
			Bench   string  `json:"bench"`
			Model   string  `json:"model"`
			TokPerS float64 `json:"tokens_per_s"`
			Ratio   float64 `json:"ratio_to_peak"`
			RSS     int64   `json:"peak_rss_bytes"`
		}
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("%v: %q: %v", model, out, err)
		}
		if len(rows) != 2 || rows[0].Bench != "train" || rows[1].Bench != "generate" {
			t.Fatalf("%v: rows %+v", model, rows)
		}
		for _, r := range rows {
			if r.Model != model[1] || !(r.TokPerS > 0) || !(r.Ratio > 0) || r.RSS <= 0 {
				t.Errorf("%v: %+v", model, r)
			}
		}
	}
	_, stderr, code := cli(t, append([]string{"bench", "train", "--model", tinyPolicy(t, policy.KindDiffusion)}, small...)...)
	if code == 0 || !strings.Contains(stderr, "causal") {
		t.Errorf("diffusion policy: exit %d, %q", code, stderr)
	}
	_, stderr, code = cli(t, append([]string{"bench", "train", "--model", t.TempDir(), "--random-weights"}, small...)...)
	if code == 0 || !strings.Contains(stderr, "config.json") {
		t.Errorf("no config.json: exit %d, %q", code, stderr)
	}
}
