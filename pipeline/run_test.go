package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/datatest"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// smallRunConfig is a run that finishes in seconds: a tiny model, a short
// SFT warm start and a handful of RL steps.
func smallRunConfig() RunConfig {
	cfg := DefaultRunConfig()
	cfg.Policy.Model.Layers, cfg.Policy.Model.DModel, cfg.Policy.Model.Heads, cfg.Policy.Model.DFF = 1, 32, 2, 64
	cfg.Policy.Model.Context = 64
	cfg.SFT.Steps, cfg.SFT.BatchSize, cfg.SFT.Examples = 20, 8, 200
	cfg.Data.TrainSize = 6
	cfg.Train.Steps, cfg.Train.PromptsPerStep = 4, 4
	cfg.Rollout.G, cfg.Rollout.MaxNewTokens = 4, 24
	cfg.Eval.N = 8
	cfg.Check.Every, cfg.Check.KeepLast = 1, 0
	cfg.Log.Progress = false
	return cfg
}

func TestRunSmallCompletesAndReleasesEveryRecord(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	out := t.TempDir()
	res, err := Run(context.Background(), smallRunConfig(), RunOptions{OutDir: out, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Before) != 1 || len(res.After) != 1 || res.Steps != 4 {
		t.Fatalf("result = %+v", res)
	}
	lines := readLines(t, filepath.Join(out, metricsFile))
	if len(lines) != 4 {
		t.Fatalf("metrics.jsonl has %d lines, want 4", len(lines))
	}
	evals := readLines(t, filepath.Join(out, evalFile))
	if len(evals) != 2 {
		t.Fatalf("eval.jsonl has %d lines, want 2", len(evals))
	}
}

func TestResumeIsBitIdentical(t *testing.T) {
	cases := []struct {
		name      string
		staleness int
		filter    bool
	}{{"on-policy", 0, false}, {"staleness 1", 1, false}, {"DAPO refill rounds", 0, true}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallRunConfig()
			cfg.Train.MaxStaleness = tc.staleness
			cfg.Sampling.Filter.ZeroVariance = tc.filter
			assertResumeBitIdentical(t, cfg, policyfile.ModelFile, samplerFile, optimizerFile)
		})
	}
}

// assertResumeBitIdentical runs cfg uninterrupted, and for 2 steps then
// resumed, and checks that the given files of the last checkpoint and the
// metrics agree bit for bit. It returns the uninterrupted run's directory.
func assertResumeBitIdentical(t *testing.T, cfg RunConfig, files ...string) string {
	t.Helper()
	full, part := runFullAndPart(t, cfg)
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: part, Resume: true}); err != nil {
		t.Fatal(err)
	}
	sameCheckpointFiles(t, full, part, int64(cfg.Train.Steps), "between the uninterrupted and the resumed run", files...)
	sameMetrics(t, full, part)
	return full
}

// runFullAndPart runs cfg in one new directory, full, and only its first
// 2 steps in another, part, ready to resume.
func runFullAndPart(t *testing.T, cfg RunConfig) (full, part string) {
	t.Helper()
	full = t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: full}); err != nil {
		t.Fatal(err)
	}
	part = t.TempDir()
	short := cfg
	short.Train.Steps = 2
	if _, err := Run(context.Background(), short, RunOptions{OutDir: part}); err != nil {
		t.Fatal(err)
	}
	return full, part
}

// sameCheckpointFiles fails t unless each of files in checkpoint step of
// run directory a is non-empty and equal byte for byte to b's; how says
// how b differs from a, for the message.
func sameCheckpointFiles(t *testing.T, a, b string, step int64, how string, files ...string) {
	t.Helper()
	for _, f := range files {
		x, _ := os.ReadFile(filepath.Join(ckptDir(a, step), f))
		y, _ := os.ReadFile(filepath.Join(ckptDir(b, step), f))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs %s", f, how)
		}
	}
}

// sameMetrics fails t unless the runs in a and b logged the same metrics
// apart from timings.
func sameMetrics(t *testing.T, a, b string) {
	t.Helper()
	if x, y := deterministicMetrics(t, a), deterministicMetrics(t, b); x != y {
		t.Errorf("metrics differ:\n%s\n%s", x, y)
	}
}

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for l := range splitLines(raw) {
		out = append(out, l)
	}
	return out
}

// readTrainRows reads the first record of a train-row file (a step's
// export or rollout dump).
func readTrainRows(t *testing.T, path string) []data.TrainRow {
	t.Helper()
	rec := datatest.FirstRecord(t, path, nil)
	rows, err := data.TrainFromRecord(rec)
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func deterministicMetrics(t *testing.T, dir string) string {
	var buf bytes.Buffer
	for _, l := range readLines(t, filepath.Join(dir, metricsFile)) {
		var m map[string]any
		if err := json.Unmarshal(l, &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "timing")
		b, _ := json.Marshal(m)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	return buf.String()
}

// TestExportTrainBatchesWritesParquetPerStep also checks that completion
// text is valid UTF-8 although the barely trained byte-level policy samples
// bytes that are not (the token ids keep them): one invalid string makes a
// whole file unreadable to DuckDB and polars.
func TestExportTrainBatchesWritesParquetPerStep(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Train.Steps = 2
	cfg.Export.TrainBatches = filepath.Join(t.TempDir(), "export")
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	highBytes := 0
	for step := 1; step <= 2; step++ {
		rows := readTrainRows(t, filepath.Join(cfg.Export.TrainBatches, fmt.Sprintf("step-%06d.parquet", step)))
		want := cfg.Train.PromptsPerStep * cfg.Rollout.G
		if len(rows) != want || len(rows[0].CompletionTokens) == 0 || len(rows[0].Logprobs) != len(rows[0].CompletionTokens) {
			t.Fatalf("step %d: %d rows (want %d), first %+v", step, len(rows), want, rows[0])
		}
		for i, r := range rows {
			if !utf8.ValidString(r.Completion) {
				t.Fatalf("step %d row %d: completion %q is not UTF-8", step, i, r.Completion)
			}
			for _, id := range r.CompletionTokens {
				if id >= tokenizer.ByteOffset+0x80 && id < tokenizer.Size {
					highBytes++
				}
			}
		}
	}
	if highBytes == 0 {
		t.Fatal("no completion sampled a byte >= 0x80; the UTF-8 check above saw nothing to repair")
	}
}

// TestDynamicSamplingRefillsAtMostMaxRounds uses the tiny policy, whose
// groups are all wrong (zero variance), so every step refills until the
// bound and proceeds short, saying so in its metrics.
func TestDynamicSamplingRefillsAtMostMaxRounds(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Train.Steps = 2
	cfg.Sampling.Filter.ZeroVariance = true
	cfg.Sampling.Filter.MaxRefillRounds = 2
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	for _, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m struct {
			Filter    map[string]float64 `json:"filter"`
			TrainRows int                `json:"train_rows"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if m.Filter["filter/rounds"] != 3 || m.Filter["filter/short"] != 1 || m.Filter["filter/target"] != 4 {
			t.Fatalf("filter metrics = %v, want 3 rounds (1 + 2 refills), short, target 4", m.Filter)
		}
		if kept := m.Filter["filter/kept"]; m.TrainRows != int(kept)*cfg.Rollout.G {
			t.Fatalf("train rows %d, kept groups %v", m.TrainRows, kept)
		}
	}
}

// rlpipe eval of a run's checkpoint, with the run's seed and budget,
// evaluates the run's own held-out problems and reproduces its final
// greedy evaluation.
func TestEvaluateCheckpointReproducesTheRunsEvaluation(t *testing.T) {
	cfg := smallRunConfig()
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := EvaluateCheckpoint(context.Background(), EvalOptions{Checkpoint: out, Seed: cfg.Seed,
		Config: EvalConfig{N: cfg.Eval.N, Verifier: cfg.Eval.Verifier, Temperature: 1}, MaxNewTokens: cfg.Rollout.MaxNewTokens})
	if err != nil {
		t.Fatal(err)
	}
	got, want := ev[0], res.After[0]
	if got.N != want.N || got.Accuracy != want.Accuracy || got.MeanLength != want.MeanLength {
		t.Errorf("eval of the checkpoint: n %d accuracy %v mean length %v; the run's final evaluation: n %d, %v, %v",
			got.N, got.Accuracy, got.MeanLength, want.N, want.Accuracy, want.MeanLength)
	}
}

// sft.eval_every evaluates the policy being trained at every multiple of it
// before the last step (the final evaluation covers that one), in every
// mode, without changing what is trained: the saved weights and the final
// evaluation are bit-identical to a run without it.
func TestSFTEvalEveryLogsIntermediateEvaluations(t *testing.T) {
	run := func(every int) (string, []byte, []EvalResult) {
		cfg := smallRunConfig()
		cfg.SFT.Steps, cfg.SFT.EvalEvery = 6, every
		cfg.Eval.Samples = 2 // intermediate evaluations stay greedy
		dir := t.TempDir()
		var log strings.Builder
		res, err := RunSFT(context.Background(), cfg, RunOptions{OutDir: dir, Stderr: &log})
		if err != nil {
			t.Fatal(err)
		}
		weights, err := os.ReadFile(filepath.Join(dir, policyfile.ModelFile))
		if err != nil {
			t.Fatal(err)
		}
		return log.String(), weights, res
	}
	plainLog, plainWeights, plainRes := run(0)
	log, weights, res := run(2)
	if strings.Contains(plainLog, "sft eval") {
		t.Errorf("eval_every 0 evaluated during SFT:\n%s", plainLog)
	}
	re := regexp.MustCompile(`sft eval step (\d+) \(trace\): greedy accuracy [0-9.]+% ± [0-9.]+ \(n=8\)`)
	var steps []string
	for _, m := range re.FindAllStringSubmatch(log, -1) {
		steps = append(steps, m[1])
	}
	if want := []string{"2", "4"}; !slices.Equal(steps, want) {
		t.Errorf("intermediate evaluations at steps %v, want %v:\n%s", steps, want, log)
	}
	if !bytes.Equal(weights, plainWeights) {
		t.Error("intermediate evaluations changed the trained weights")
	}
	if len(res) != 1 || len(plainRes) != 1 || res[0].Accuracy != plainRes[0].Accuracy || res[0].SampledAccuracy == nil ||
		*res[0].SampledAccuracy != *plainRes[0].SampledAccuracy {
		t.Errorf("final evaluation %+v differs from %+v", res, plainRes)
	}
}
