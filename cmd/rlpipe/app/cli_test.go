package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestMain lets the test binary act as the rlpipe CLI when re-executed with
// RLPIPE_TEST_AS_CLI=1, so that tests can run, signal and kill real rlpipe
// processes without building a separate binary.
func TestMain(m *testing.M) {
	if os.Getenv("RLPIPE_TEST_AS_CLI") == "1" {
		os.Exit(Main(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// cli runs rlpipe in-process and returns stdout, stderr and the exit code.
func cli(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	root := newRootCmd()
	root.SetArgs(args)
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	code := execute(root, &errb)
	return out.String(), errb.String(), code
}

// usageCase is a command line that must fail as a usage error (exit 2)
// whose stderr mentions msg.
type usageCase struct {
	name string
	args []string
	msg  string
}

// checkUsageErrors runs every case through cli as a subtest of its own.
func checkUsageErrors(t *testing.T, cases []usageCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr, code := cli(t, tc.args...)
			if code != 2 || !strings.Contains(stderr, tc.msg) {
				t.Fatalf("exit %d, stderr %q; want 2 mentioning %q", code, stderr, tc.msg)
			}
		})
	}
}

// cliProcess starts rlpipe as a child process.
func cliProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RLPIPE_TEST_AS_CLI=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	cmd.Stdout = &errb
	return cmd
}

func TestConfigDefaultMatchesGolden(t *testing.T) {
	out, stderr, code := cli(t, "config", "default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	golden := filepath.Join("testdata", "default_config.yaml")
	if *update {
		if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatalf("rlpipe config default drifted from %s (rerun with -update if intended):\n%s", golden, out)
	}
}

// A diffusion policy gets the longer SFT preset and sampled evaluation
// unless sft.steps / eval.samples are set.
func TestDiffusionPresetSetsSFTStepsAndEvalSamplesUnlessGiven(t *testing.T) {
	diffusion := []string{"--set", "policy.kind=diffusion", "--set", "algorithm.name=gdpo"}
	for _, c := range []struct {
		name                string
		args                []string
		wantSFT, wantSample string
	}{
		{"causal default", nil, "steps: 400\n", "samples: 0\n"},
		{"diffusion preset", diffusion, "steps: 8000\n", "samples: 4\n"},
		{"explicit values win", append(slices.Clone(diffusion), "--set", "sft.steps=7", "--set", "eval.samples=0"), "steps: 7\n", "samples: 0\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := cli(t, append([]string{"config", "default"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			section := func(name, next string) string {
				s := out[strings.Index(out, "\n"+name+":\n"):]
				return s[:strings.Index(s, "\n"+next+":")]
			}
			if sft := section("sft", "rollout"); !strings.Contains(sft, c.wantSFT) {
				t.Errorf("sft section %q does not contain %q", sft, c.wantSFT)
			}
			if eval := section("eval", "log"); !strings.Contains(eval, c.wantSample) {
				t.Errorf("eval section %q does not contain %q", eval, c.wantSample)
			}
		})
	}
}

func TestBadConfigExitsWithUsageStatus(t *testing.T) {
	checkUsageErrors(t, []usageCase{
		{"an unknown key names its path", []string{"config", "default", "--set", "rollout.temprature=1"}, `rollout.temprature`},
		{"an invalid value names its field", []string{"config", "default", "--set", "rollout.g=0"}, "rollout.g"},
		{"an unknown preset is refused", []string{"config", "default", "--set", "algorithm.name=ppo2"}, "algorithm.name"},
		{"a missing flag value is a usage error", []string{"data", "export", "--task", "arithmetic"}, "--out"},
		{"an unknown command is a usage error", []string{"exprt", "model"}, `unknown command "exprt"`},
		{"export wants a known format", []string{"export", "--checkpoint", "x", "--out", "y", "--format", "onnx"}, "--format"},
		{"export wants a known dtype", []string{"export", "--checkpoint", "x", "--out", "y", "--dtype", "f8"}, "--dtype"},
		{"an unknown subcommand is a usage error", []string{"data", "exprot"}, `unknown command "exprot" for "rlpipe data"`},
		{"a missing positional argument is a usage error", []string{"inspect"}, "arg"},
		{"an extra positional argument is a usage error", []string{"version", "now"}, `unknown command "now"`},
	})
}

// A command group without a subcommand prints its help and succeeds.
func TestCommandGroupWithoutSubcommandPrintsHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"data"}, {"config"}} {
		out, stderr, code := cli(t, args...)
		if code != 0 || !strings.Contains(out, "Available Commands") {
			t.Fatalf("rlpipe %v: exit %d, stdout %q, stderr %q; want 0 and the help", args, code, out, stderr)
		}
	}
}

func TestInspectShippedDatasets(t *testing.T) {
	cases := []struct {
		path string
		rows string
	}{
		{"../../../data/datasets/gsm8k/test.jsonl", "1319"},
		{"../../../data/datasets/math500/test.jsonl", "500"},
		{"../../../data/datasets/svamp/SVAMP.json", "1000"},
		{"../../../data/datasets/countdown/countdown_cd3_test.jsonl", "256"},
		{"../../../data/datasets/verl-format/gsm8k_test.parquet", "1319"},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			out, stderr, code := cli(t, "inspect", tc.path)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !regexp.MustCompile(`rows:\s+` + tc.rows + `\n`).MatchString(out) {
				t.Fatalf("inspect did not report %s rows:\n%s", tc.rows, out)
			}
		})
	}
}

func TestDataExportThenInspect(t *testing.T) {
	dir := t.TempDir()
	for _, ext := range []string{".jsonl", ".parquet", ".arrow", ".arrows"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(dir, "arith"+ext)
			if _, stderr, code := cli(t, "data", "export", "--task", "arithmetic", "--n", "37", "--seed", "3", "--out", path); code != 0 {
				t.Fatalf("export exit %d: %s", code, stderr)
			}
			out, stderr, code := cli(t, "inspect", path)
			if code != 0 || !regexp.MustCompile(`rows:\s+37\n`).MatchString(out) {
				t.Fatalf("inspect exit %d (%s):\n%s", code, stderr, out)
			}
		})
	}
}

// smallRun is a configuration that trains a tiny policy in seconds.
const smallRun = `
seed: 7
data: {train: arithmetic, train_size: 6, difficulty: 1}
policy:
  model: {layers: 1, d_model: 32, heads: 2, d_ff: 64, context: 64}
sft: {steps: 20, batch_size: 8, examples: 200}
rollout: {g: 4, max_new_tokens: 24}
train: {steps: 6, prompts_per_step: 4, lr: 0.001}
checkpoint: {every: 1, keep_last: 0}
eval: {n: 8}
log: {progress: false}
`

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "run.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// smallRunDir runs smallRun for steps steps into a fresh directory and
// returns the config file and the run directory, for tests that resume or
// inspect a finished run.
func smallRunDir(t *testing.T, steps int) (cfg, dir string) {
	t.Helper()
	cfg = writeConfig(t, strings.Replace(smallRun, "steps: 6,", fmt.Sprintf("steps: %d,", steps), 1))
	dir = t.TempDir()
	if out, stderr, code := cli(t, "run", "--config", cfg, "--out", dir); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, stderr)
	}
	return cfg, dir
}

func waitForFile(t *testing.T, path string, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	proc.Process.Kill()
	t.Fatalf("%s did not appear", path)
}

// waitForNonEmpty waits until path exists with some content.
func waitForNonEmpty(t *testing.T, path string, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	proc.Process.Kill()
	t.Fatalf("%s stayed empty", path)
}

// stableMetrics returns metrics.jsonl without the wall-clock fields.
func stableMetrics(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "timing")
		enc, _ := json.Marshal(m)
		b.Write(enc)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestCorruptCheckpointIsRefusedUnlessPreviousGood(t *testing.T) {
	cfg, dir := smallRunDir(t, 3)
	model := filepath.Join(dir, "checkpoints", "step-000003", "model.safetensors")
	b, _ := os.ReadFile(model)
	b[len(b)-1] ^= 0xff
	os.WriteFile(model, b, 0o644)
	_, stderr, code := cli(t, "run", "--config", cfg, "--set", "train.steps=4", "--out", dir, "--resume")
	if code == 0 || !strings.Contains(stderr, "model.safetensors") || !strings.Contains(stderr, "previous-good") {
		t.Fatalf("corrupt checkpoint: exit %d, stderr %q", code, stderr)
	}
	out, stderr, code := cli(t, "run", "--config", cfg, "--set", "train.steps=4", "--out", dir, "--resume=previous-good")
	if code != 0 || !strings.Contains(stderr, "continuing after step 2") {
		t.Fatalf("previous-good: exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestResumeRefusesChangedConfig(t *testing.T) {
	cfg, dir := smallRunDir(t, 2)
	_, stderr, code := cli(t, "run", "--config", cfg, "--set", "rollout.g=5", "--out", dir, "--resume")
	if code != 2 || !strings.Contains(stderr, "configuration differs") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, stderr, code := cli(t, "run", "--config", cfg, "--out", dir); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("rerun into a used --out: exit %d, stderr %q", code, stderr)
	}
}

func TestSFTThenEval(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	dir := t.TempDir()
	out, stderr, code := cli(t, "sft", "--config", cfg, "--out", dir)
	if code != 0 || !strings.Contains(out, "held-out accuracy") {
		t.Fatalf("sft: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code = cli(t, "eval", "--checkpoint", dir, "--n", "10", "--samples", "2", "--max-new-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var res struct {
		Accuracy *float64 `json:"accuracy"`
		Stderr   *float64 `json:"stderr"`
		N        int      `json:"n"`
		PassAtK  *float64 `json:"pass_at_k"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Accuracy == nil || res.Stderr == nil || res.N != 10 || res.PassAtK == nil {
		t.Fatalf("eval --json = %s (%v)", out, err)
	}
}

func TestInterruptCheckpointsAndExits130(t *testing.T) {
	cfg := writeConfig(t, strings.Replace(smallRun, "steps: 6,", "steps: 500,", 1))
	dir := t.TempDir()
	proc := cliProcess(t, "run", "--config", cfg, "--set", "checkpoint.every=1000", "--out", dir)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	// Signal once RL step 1 is logged: the file exists (empty) from the
	// start, and an interrupt before step 1 stops without an RL checkpoint.
	waitForNonEmpty(t, filepath.Join(dir, "metrics.jsonl"), proc)
	proc.Process.Signal(syscall.SIGINT)
	err := proc.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit = %v, want status 130", err)
	}
	latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest"))
	if err != nil {
		t.Fatalf("no checkpoint after the interrupt: %v", err)
	}
	var step int
	if _, err := fmt.Sscanf(strings.TrimSpace(string(latest)), "step-%d", &step); err != nil || step < 1 || step >= 500 {
		t.Fatalf("latest = %q (%v)", latest, err)
	}
	// checkpoint.every=1000: the only checkpoint is the one the interrupt wrote.
	if out, stderr, code := cli(t, "run", "--config", cfg, "--set", "checkpoint.every=1000", "--set", fmt.Sprintf("train.steps=%d", step+1), "--out", dir, "--resume"); code != 0 {
		t.Fatalf("resume after interrupt: exit %d\n%s\n%s", code, out, stderr)
	}
}

func TestInspectCheckpointShowsSamplerStatistics(t *testing.T) {
	_, dir := smallRunDir(t, 2)
	out, stderr, code := cli(t, "inspect", dir)
	if code != 0 {
		t.Fatalf("inspect: exit %d: %s", code, stderr)
	}
	for _, want := range []string{"step-000002", "state.json", "sampler statistics", "pass_rate", "vps", `"policy_version": 2`} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
}

// With eval.samples > 0, run reports sampled pass@1 before → after next to
// the greedy accuracy.
func TestRunReportsSampledAccuracy(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	out, stderr, code := cli(t, "run", "--config", cfg, "--set", "eval.samples=2", "--set", "train.steps=2", "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	for _, want := range []string{"held-out accuracy (trace", "sampled pass@1 (trace, K=2", "points, paired)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// eval --baseline evaluates two checkpoints on the same problems and pairs
// them: a checkpoint against itself differs by exactly zero.
func TestEvalAgainstABaselineIsPaired(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	dir := t.TempDir()
	if out, stderr, code := cli(t, "sft", "--config", cfg, "--out", dir); code != 0 {
		t.Fatalf("sft: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code := cli(t, "eval", "--checkpoint", dir, "--baseline", dir, "--n", "12", "--samples", "2", "--max-new-tokens", "24", "--json")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, stderr)
	}
	var res struct {
		Paired []evalChange `json:"paired"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(res.Paired) != 1 || res.Paired[0].Greedy != 0 || res.Paired[0].GreedyStderr != 0 ||
		res.Paired[0].Sampled == nil || *res.Paired[0].Sampled != 0 {
		t.Fatalf("paired = %+v, want zero differences", res.Paired)
	}
	if _, stderr, code := cli(t, "eval", "--checkpoint", dir, "--baseline", filepath.Join(dir, "missing")); code == 0 {
		t.Fatalf("a missing baseline was accepted: %s", stderr)
	}
}

// RL from a diffusion checkpoint generates on the canvas saved with it
// unless policy.diffusion is set explicitly.
func TestDiffusionInitCheckpointSetsCanvasUnlessGiven(t *testing.T) {
	dir := t.TempDir()
	pol, err := policyfile.New(policy.KindDiffusion, policy.Config{Layers: 1, DModel: 8, Heads: 1, DFF: 8, Context: 64})
	if err != nil {
		t.Fatal(err)
	}
	saved := policy.DefaultDiffusionConfig()
	saved.Canvas, saved.Gen.Steps = 24, 8
	pol.Diffusion = &saved
	if err := pol.Save(dir); err != nil {
		t.Fatal(err)
	}
	// A file written before the settings were saved was trained on the
	// default of that time, a 32-token canvas.
	legacy := t.TempDir()
	pol.Diffusion = nil
	if err := pol.Save(legacy); err != nil {
		t.Fatal(err)
	}
	init := []string{"--set", "policy.kind=diffusion", "--set", "policy.init=" + dir}
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"default without init", []string{"--set", "policy.kind=diffusion"}, "canvas: 64\n    gen:\n      steps: 16\n"},
		{"saved settings", init, "canvas: 24\n    gen:\n      steps: 8\n"},
		{"checkpoint without saved settings", []string{"--set", "policy.kind=diffusion", "--set", "policy.init=" + legacy}, "canvas: 32\n    gen:\n      steps: 16\n"},
		{"explicit value wins", append(slices.Clone(init), "--set", "policy.diffusion.canvas=40"), "canvas: 40\n    gen:\n      steps: 8\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, code := cli(t, append([]string{"config", "default"}, c.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			if !strings.Contains(out, c.want) {
				t.Errorf("config does not contain %q:\n%s", c.want, out)
			}
		})
	}
	_, stderr, code := cli(t, "config", "default", "--set", "policy.kind=diffusion", "--set", "policy.init="+filepath.Join(dir, "missing"))
	if code != 2 || !strings.Contains(stderr, "policy.init") || !strings.Contains(stderr, "missing") {
		t.Errorf("a missing policy.init: exit %d, stderr %q; want status 2 naming policy.init and the path", code, stderr)
	}
}
