package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corruptCheckpoint runs a 1-step job and flips the last byte of its
// checkpoint's model.safetensors; it returns the run directory and the
// checkpoint directory.
func corruptCheckpoint(t *testing.T) (run, ckpt string) {
	t.Helper()
	_, run = smallRunDir(t, 1)
	ckpt = filepath.Join(run, "checkpoints", "step-000001")
	if out, stderr, code := cli(t, "inspect", ckpt); code != 0 || !strings.Contains(out, "MANIFEST: verified") {
		t.Fatalf("inspect of the intact checkpoint: exit %d\n%s\n%s", code, out, stderr)
	}
	model := filepath.Join(ckpt, "model.safetensors")
	b, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-1] ^= 0x01
	if err := os.WriteFile(model, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return run, ckpt
}

// Every command that loads a checkpoint verifies its MANIFEST: given a
// checkpoint (or its run directory) whose model.safetensors has one
// flipped bit, each refuses it with an error naming the file and its
// sha256 against the manifest's. serve and worker get an address they
// cannot bind, so that a command that skipped verification fails on the
// address instead of serving (and the test does not wait on a server).
func TestEveryCommandRefusesACorruptCheckpoint(t *testing.T) {
	run, ckpt := corruptCheckpoint(t)
	cfg := writeConfig(t, smallRun)
	cases := []struct {
		name string
		args []string
	}{
		{"serve refuses it", []string{"serve", "--checkpoint", ckpt, "--addr", "256.0.0.1:1"}},
		{"eval refuses it", []string{"eval", "--checkpoint", ckpt, "--n", "2", "--max-new-tokens", "8"}},
		{"eval of the run directory refuses its latest checkpoint", []string{"eval", "--checkpoint", run, "--n", "2", "--max-new-tokens", "8"}},
		{"run with policy.init refuses it", []string{"run", "--config", cfg, "--set", "policy.init=" + ckpt,
			"--set", "train.steps=1", "--out", filepath.Join(t.TempDir(), "out")}},
		{"worker --checkpoint refuses it", []string{"worker", "--role", "rollout", "--listen", "256.0.0.1:1", "--checkpoint", ckpt}},
		{"inspect shows the failed verification", []string{"inspect", ckpt}},
		{"inspect of the run directory shows it too", []string{"inspect", run}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out, stderr, code := cli(t, tc.args...)
			if code == 0 {
				t.Fatalf("exit 0: the corrupt checkpoint was accepted\n%s\n%s", out, stderr)
			}
			for _, want := range []string{"model.safetensors", "sha256", "MANIFEST expects"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q:\n%s", want, stderr)
				}
			}
			if tc.args[0] == "inspect" && !strings.Contains(out, "MANIFEST: FAILED") {
				t.Errorf("inspect does not show the verification status:\n%s", out)
			}
		})
	}
}

// A policy directory without a MANIFEST (rlpipe sft's output, as a Hugging
// Face download) still loads everywhere, and inspect says it was not
// verified.
func TestPolicyWithoutManifestStillLoads(t *testing.T) {
	cfg := writeConfig(t, smallRun)
	dir := t.TempDir()
	if out, stderr, code := cli(t, "sft", "--config", cfg, "--set", "sft.steps=2", "--out", dir); code != 0 {
		t.Fatalf("sft: exit %d\n%s\n%s", code, out, stderr)
	}
	if out, stderr, code := cli(t, "eval", "--checkpoint", dir, "--n", "2", "--max-new-tokens", "8"); code != 0 {
		t.Fatalf("eval: exit %d\n%s\n%s", code, out, stderr)
	}
	out, stderr, code := cli(t, "inspect", dir)
	if code != 0 || !strings.Contains(out, "MANIFEST: none") {
		t.Fatalf("inspect: exit %d\n%s\n%s", code, out, stderr)
	}
}
