package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
	"github.com/rlpipe/rlpipe/policy/safetensors"
	"github.com/rlpipe/rlpipe/reward"
)

// An hf policy starts from a pretrained Hugging Face directory (sharded
// BF16 here), trains on GSM8K, and every checkpoint is again a Hugging
// Face directory that rlpipe loads back with its tokenizer.
func TestRunTrainsAnHFModelOnGSM8K(t *testing.T) {
	init := hftest.TinyLlama(t)
	if _, err := os.Stat(filepath.Join(init, safetensors.IndexFileName)); err != nil {
		t.Fatalf("the fixture should be sharded: %v", err)
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	cfg := smallRunConfig()
	cfg.Policy.Kind, cfg.Policy.Init = policy.KindHF, init
	cfg.Data.Train, cfg.Data.TrainSize = "gsm8k", 4
	cfg.Train.Steps, cfg.Train.PromptsPerStep = 2, 2
	cfg.Rollout.G, cfg.Rollout.MaxNewTokens = 2, 8
	cfg.Eval.N = 2
	// A random model never solves GSM8K, so the math reward would give
	// every group zero advantages; the length of the completion text
	// varies, so rewarding it moves the weights.
	cfg.Reward = reward.Config{Parts: []reward.PartConfig{{Kind: "length", Weight: 1,
		Options: reward.Options{"max_len": 40, "buffer": 30, "count": "chars"}}}, OnError: reward.OnErrorFail}
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, RunOptions{OutDir: out, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if res.Steps != 2 {
		t.Fatalf("steps = %d", res.Steps)
	}
	latest, err := os.ReadFile(filepath.Join(out, "checkpoints", "latest"))
	if err != nil {
		t.Fatal(err)
	}
	ck := filepath.Join(out, "checkpoints", strings.TrimSpace(string(latest)))
	for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(ck, name)); err != nil {
			t.Errorf("checkpoint lacks %s: %v", name, err)
		}
	}
	st, err := safetensors.Open(filepath.Join(ck, "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Metadata()["format"] != "pt" {
		t.Errorf("model.safetensors metadata %v lacks format pt (transformers needs it)", st.Metadata())
	}
	st.Close()
	before, err := policyfile.Load(init)
	if err != nil {
		t.Fatal(err)
	}
	after, err := policyfile.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if after.Kind() != policy.KindHF || after.Tokenizer.VocabSize() != 32000 {
		t.Fatalf("reloaded kind %s, vocab %d", after.Kind(), after.Tokenizer.VocabSize())
	}
	if got := after.Tokenizer.DecodeText(after.Tokenizer.Encode("Natalia sold 48 clips.")); got != "Natalia sold 48 clips." {
		t.Errorf("round trip through the checkpoint's tokenizer: %q", got)
	}
	if sameParams(before.Model, after.Model) {
		t.Error("training did not change the weights")
	}
}

// sameParams reports whether a and b have equal weights.
func sameParams(a, b policy.Trainable) bool {
	pa, pb := a.Params(), b.Params()
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		for j := range pa[i].Value {
			if pa[i].Value[j] != pb[i].Value[j] {
				return false
			}
		}
	}
	return true
}

// What an hf policy cannot do yet is refused before the run, naming the key.
func TestHFPolicyConfigRefusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*RunConfig)
		want string
	}{
		{"Flight rollout workers", func(c *RunConfig) { c.Distributed.RolloutWorkers = []string{"127.0.0.1:1"} }, "distributed.rollout_workers"},
		{"a diffusion algorithm", func(c *RunConfig) { c.Algorithm.Name = "gdpo" }, "needs policy.kind diffusion"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRunConfig()
			cfg.Policy.Kind = policy.KindHF
			tc.edit(&cfg)
			err := cfg.Validate()
			if err == nil {
				err = cfg.validateAlgorithm()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
		})
	}
}

// Without policy.init there is nothing to start an hf run from.
func TestHFPolicyNeedsInit(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Policy.Kind = policy.KindHF
	_, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "cannot be initialised fresh") {
		t.Fatalf("err = %v", err)
	}
}
