package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// resumeCase is one algorithm of the kill-and-resume table: --set
// overrides on top of smallRun, and a check on the uninterrupted run's
// metrics that the state the case is about really exists (so that a resume
// that lost it would show).
type resumeCase struct {
	name  string
	set   []string
	check func(t *testing.T, metrics []map[string]any)
}

// diffusionSmall shrinks the diffusion canvas and undoes its 8000-step SFT
// preset, so that a diffusion case runs in seconds.
var diffusionSmall = []string{"policy.kind=diffusion", "sft.steps=20", "eval.samples=0",
	"policy.diffusion.canvas=16", "policy.diffusion.gen.steps=4", "policy.diffusion.gen.block_len=16"}

func resumeCases() []resumeCase {
	return []resumeCase{
		{name: "rlpipe on-policy", set: []string{"train.max_staleness=0"}},
		{name: "rlpipe max_staleness 1", set: []string{"train.max_staleness=1"}},
		{name: "grpo", set: []string{"algorithm.name=grpo"}},
		{name: "dr_grpo", set: []string{"algorithm.name=dr_grpo"}},
		{name: "reinforce", set: []string{"algorithm.name=reinforce"}},
		{name: "dapo with refill rounds", set: []string{"algorithm.name=dapo", "sampling.filter.zero_variance=true"},
			check: func(t *testing.T, ms []map[string]any) { wantSomeStep(t, ms, "refill rounds", refillRounds) }},
		{name: "bvpo alpha auto", set: []string{"algorithm.name=bvpo", "algorithm.bvpo.alpha=auto",
			// A length-shaped reward differs within groups, so DPO pairs
			// exist and α moves (the math reward of this tiny policy is 0).
			"reward.spec=length(max_len=24,buffer=22)"},
			check: func(t *testing.T, ms []map[string]any) {
				wantSomeStep(t, ms[:len(ms)-1], "α estimated away from 0.5", alphaMoved)
			}},
		{name: "gdpo", set: append([]string{"algorithm.name=gdpo"}, diffusionSmall...)},
		{name: "diffu_grpo", set: append([]string{"algorithm.name=diffu_grpo"}, diffusionSmall...)},
		{name: "vas refresh full", set: []string{"sampling.vas.refresh=full", "sampling.vas.refresh_every=2",
			"sampling.vas.refresh_samples=2"},
			check: func(t *testing.T, ms []map[string]any) { wantSomeStep(t, ms[1:], "a refresh after step 1", refreshed) }},
	}
}

// TestKilledRunResumesBitIdentical runs each algorithm's small job twice:
// once uninterrupted, once killed with SIGKILL once checkpoint 2 is written
// (inside the VAS case's step-2 refresh, which follows that checkpoint) and
// resumed. Weights, optimizer, sampler, learner state and metrics.jsonl must
// be identical. The 6-prompt dataset with 4 prompts per step crosses an
// epoch boundary inside steps 2 and 3.
func TestKilledRunResumesBitIdentical(t *testing.T) {
	for _, tc := range resumeCases() {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, smallRun)
			var sets []string
			for _, s := range tc.set {
				sets = append(sets, "--set", s)
			}
			args := func(out string, extra ...string) []string {
				return append(append([]string{"run", "--config", cfg, "--out", out}, sets...), extra...)
			}
			full, killed := t.TempDir(), t.TempDir()
			if out, stderr, code := cli(t, args(full)...); code != 0 {
				t.Fatalf("uninterrupted run: exit %d\n%s\n%s", code, out, stderr)
			}
			if tc.check != nil {
				tc.check(t, metricsRows(t, full))
			}
			proc := cliProcess(t, args(killed)...)
			if err := proc.Start(); err != nil {
				t.Fatal(err)
			}
			waitForFile(t, filepath.Join(killed, "checkpoints", "step-000002", "MANIFEST"), proc)
			proc.Process.Signal(syscall.SIGKILL)
			proc.Wait()
			if _, err := os.Stat(filepath.Join(killed, "checkpoints", "step-000006")); err == nil {
				t.Fatal("the run finished before it was killed; the test proves nothing")
			}
			if out, stderr, code := cli(t, args(killed, "--resume")...); code != 0 {
				t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, stderr)
			}
			compareCheckpoints(t, filepath.Join(full, "checkpoints", "step-000006"), filepath.Join(killed, "checkpoints", "step-000006"))
			if a, b := stableMetrics(t, full), stableMetrics(t, killed); a != b {
				t.Errorf("metrics differ after kill and resume:\n%s\nvs\n%s", a, b)
			}
		})
	}
}

// compareCheckpoints requires every state file of checkpoint a (weights,
// optimizer, sampler, learner state, behaviour weights) to exist in b with
// the same bytes.
func compareCheckpoints(t *testing.T, a, b string) {
	t.Helper()
	entries, err := os.ReadDir(a)
	if err != nil {
		t.Fatal(err)
	}
	compared := 0
	for _, e := range entries {
		name := e.Name()
		if name == "MANIFEST" || name == "state.json" {
			continue // hashes and version strings of the files compared here
		}
		x, errA := os.ReadFile(filepath.Join(a, name))
		y, errB := os.ReadFile(filepath.Join(b, name))
		if errA != nil || errB != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs after kill and resume (%v, %v)", name, errA, errB)
		}
		compared++
	}
	if compared < 3 {
		t.Errorf("only %d state files in %s", compared, a)
	}
}

func metricsRows(t *testing.T, dir string) []map[string]any {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// wantSomeStep fails unless pred holds for at least one metrics row.
func wantSomeStep(t *testing.T, rows []map[string]any, what string, pred func(map[string]any) bool) {
	t.Helper()
	for _, m := range rows {
		if pred(m) {
			return
		}
	}
	t.Fatalf("no step shows %s; the case would not test its state", what)
}

func number(m map[string]any, path ...string) float64 {
	var v any = m
	for _, p := range path {
		mm, ok := v.(map[string]any)
		if !ok {
			return 0
		}
		v = mm[p]
	}
	f, _ := v.(float64)
	return f
}

func refillRounds(m map[string]any) bool { return number(m, "filter", "filter/rounds") > 1 }

func alphaMoved(m map[string]any) bool {
	_, ok := m["algo"].(map[string]any)["bvpo/alpha"]
	return ok && number(m, "algo", "bvpo/alpha") != 0.5 && number(m, "algo", "bvpo_alpha_fallback") == 0
}

func refreshed(m map[string]any) bool { return number(m, "vas_refresh", "vas_refresh/count") > 1 }

// sftKill is smallRun with an SFT long enough to be killed or signalled
// mid-way (checkpoints every 5 of its 300 steps) and two RL steps.
var sftKill = []string{"--set", "sft.steps=300", "--set", "sft.checkpoint_every=5", "--set", "train.steps=2"}

// TestKilledSFTResumesBitIdentical kills a run with SIGKILL once its SFT
// warm start has written checkpoint 10 of 300 and resumes it: the SFT
// continues from its checkpoint and the run ends with the SFT policy, the
// final checkpoint's state files and the metrics of an uninterrupted run.
func TestKilledSFTResumesBitIdentical(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	args := func(out string, extra ...string) []string {
		return append(append([]string{"run", "--config", cfg, "--out", out}, sftKill...), extra...)
	}
	full, killed := t.TempDir(), t.TempDir()
	if out, stderr, code := cli(t, args(full)...); code != 0 {
		t.Fatalf("uninterrupted run: exit %d\n%s\n%s", code, out, stderr)
	}
	proc := cliProcess(t, args(killed)...)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	waitForFile(t, filepath.Join(killed, "sft", "checkpoints", "step-000010", "MANIFEST"), proc)
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	if _, err := os.Stat(filepath.Join(killed, "sft", "model.safetensors")); err == nil {
		t.Fatal("the SFT finished before the kill; the test proves nothing")
	}
	if _, stderr, code := cli(t, args(killed)...); code != 2 || !strings.Contains(stderr, "--resume") {
		t.Fatalf("a fresh run into the killed run's --out: exit %d, stderr %q; want 2 and a hint to --resume", code, stderr)
	}
	out, stderr, code := cli(t, args(killed, "--resume")...)
	if code != 0 || !strings.Contains(stderr, "continuing the SFT after step") {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, out, stderr)
	}
	for _, name := range []string{filepath.Join("sft", "model.safetensors"), "eval.jsonl"} {
		a, _ := os.ReadFile(filepath.Join(full, name))
		b, err := os.ReadFile(filepath.Join(killed, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s differs after kill and resume (%v)", name, err)
		}
	}
	compareCheckpoints(t, filepath.Join(full, "checkpoints", "step-000002"), filepath.Join(killed, "checkpoints", "step-000002"))
	if a, b := stableMetrics(t, full), stableMetrics(t, killed); a != b {
		t.Errorf("metrics differ after kill and resume:\n%s\nvs\n%s", a, b)
	}
}

// TestSIGTERMDuringSFTStopsWithinAStep signals a run during its SFT warm
// start: it must exit 130 with an SFT checkpoint of a step past the one
// seen before the signal and before the SFT's end, with no RL step run
// (before the fix it ran all 300 SFT steps, the evaluation and an RL
// step first). The assertions are on steps reached, not on time; the
// exact "within one step" bound is pinned in-process by
// pipeline.TestSFTInterruptStopsWithinAStepAndResumesBitIdentical.
func TestSIGTERMDuringSFTStopsWithinAStep(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	dir := t.TempDir()
	proc := cliProcess(t, append([]string{"run", "--config", cfg, "--out", dir}, sftKill...)...)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "sft", "checkpoints")
	waitForFile(t, filepath.Join(root, "step-000005", "MANIFEST"), proc)
	proc.Process.Signal(syscall.SIGTERM)
	err := proc.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 130 {
		t.Fatalf("exit = %v, want status 130", err)
	}
	latest, err := os.ReadFile(filepath.Join(root, "latest"))
	var step int
	if err == nil {
		_, err = fmt.Sscanf(strings.TrimSpace(string(latest)), "step-%d", &step)
	}
	if err != nil || step < 5 || step >= 300 {
		t.Fatalf("latest SFT checkpoint = %q (%v); want a step in [5, 300)", latest, err)
	}
	for _, name := range []string{"checkpoints", "metrics.jsonl", filepath.Join("sft", "model.safetensors")} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			t.Errorf("%s exists: the run went on past the SFT after SIGTERM", name)
		}
	}
	out, stderr, code := cli(t, append([]string{"run", "--config", cfg, "--out", dir, "--resume"}, sftKill...)...)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("continuing the SFT after step %d", step)) {
		t.Fatalf("resume after SIGTERM: exit %d\n%s\n%s", code, out, stderr)
	}
}
