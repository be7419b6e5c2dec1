package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// A fixed-α BVPO run evaluates and logs both modes. Alpha auto in a run is
// covered by TestBVPOAutoAlphaRunWithFewPromptsCompletes and
// TestBVPOAutoAlphaResumeIsBitIdentical (where α must move); how α moves,
// by TestBVPOAutoAlphaFollowsTheGradientVariances.
func TestBVPORunLogsBothModes(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = learn.NameBVPO
	cfg.Algorithm.BVPO.Alpha = learn.FixedAlpha(0.5)
	cfg.Train.PromptsPerStep = 4
	out := t.TempDir()
	res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Before) != 2 || len(res.After) != 2 || res.After[1].Mode != "empty" {
		t.Fatalf("evaluations = %+v, want trace and empty", res.After)
	}
	for _, line := range readLines(t, filepath.Join(out, metricsFile)) {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if a, ok := m.Algo["bvpo/alpha"]; !ok || a != 0.5 {
			t.Fatalf("bvpo/alpha = %v (present %v), want 0.5", a, ok)
		}
	}
}

func TestDiffusionRunsWithGDPOAndDiffuGRPO(t *testing.T) {
	for _, algo := range []string{learn.NameGDPO, learn.NameDiffuGRPO} {
		t.Run(algo, func(t *testing.T) {
			cfg := smallRunConfig()
			cfg.Policy.Kind = policy.KindDiffusion
			cfg.Algorithm.Name = algo
			if err := cfg.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			cfg.SFT.Steps = 20 // the diffusion preset trains 4000 steps
			cfg.Policy.Diffusion.Canvas = 16
			cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
			cfg.Train.Steps = 2
			out := t.TempDir()
			res, err := Run(context.Background(), cfg, RunOptions{OutDir: out})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.After) != 1 || res.After[0].N != cfg.Eval.N {
				t.Fatalf("after = %+v", res.After)
			}
			lines := readLines(t, filepath.Join(out, metricsFile))
			var m struct {
				Algo      map[string]float64 `json:"algo"`
				TrainRows int                `json:"train_rows"`
			}
			if err := json.Unmarshal(lines[len(lines)-1], &m); err != nil {
				t.Fatal(err)
			}
			if m.TrainRows == 0 || m.Algo["gdpo/passes_per_seq"] < 1 {
				t.Fatalf("last step metrics = %+v", m)
			}
			for _, dir := range []string{out, filepath.Join(out, "sft")} {
				pol, err := policyfile.Load(dir)
				if err != nil || pol.Kind() != policy.KindDiffusion {
					t.Fatalf("%s: checkpoint kind = %v, %v", dir, pol, err)
				}
				// eval and bench elbo generate on the canvas the policy was trained on.
				if pol.Diffusion == nil || *pol.Diffusion != cfg.Policy.Diffusion {
					t.Errorf("%s: saved diffusion settings %+v, want %+v", dir, pol.Diffusion, cfg.Policy.Diffusion)
				}
				// eval defaults to the run's held-out task and difficulty.
				want := policyfile.TrainedOn{Train: cfg.Data.Train, Difficulty: cfg.Data.Difficulty}
				if pol.TrainedOn == nil || *pol.TrainedOn != want {
					t.Errorf("%s: trained on %+v, want %+v", dir, pol.TrainedOn, want)
				}
				o, err := ResolveEvalDefaults(EvalOptions{Checkpoint: dir})
				if err != nil || o.Dataset != "arithmetic:test" || o.Difficulty != cfg.Data.Difficulty {
					t.Errorf("%s: eval defaults %q difficulty %d (%v)", dir, o.Dataset, o.Difficulty, err)
				}
			}
		})
	}
}

func TestAlgorithmMustSuitPolicyKind(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.Name = learn.NameGDPO
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err == nil {
		t.Fatal("gdpo on a causal policy was accepted")
	}
	cfg = smallRunConfig()
	cfg.Policy.Kind = policy.KindDiffusion
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: t.TempDir()}); err == nil {
		t.Fatal("grpo on a diffusion policy was accepted")
	}
}

// Both masked-diffusion SFT objectives train and are chosen by
// sft.diffusion_masking; an unknown one is refused naming the key.
func TestDiffusionSFTMaskings(t *testing.T) {
	var finals []float64
	for _, masking := range []string{policy.MaskingDiscrete, policy.MaskingContinuous} {
		cfg := smallRunConfig()
		cfg.Policy.Kind = policy.KindDiffusion
		if err := cfg.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		cfg.SFT.Steps, cfg.SFT.DiffusionMasking = 20, masking
		cfg.Policy.Diffusion.Canvas = 16
		cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
		dir := t.TempDir()
		var log strings.Builder
		if _, err := RunSFT(context.Background(), cfg, RunOptions{OutDir: dir, Stderr: &log}); err != nil {
			t.Fatalf("%s: %v", masking, err)
		}
		var final float64
		if _, err := fmt.Sscanf(log.String()[strings.LastIndex(log.String(), "final loss"):], "final loss %g", &final); err != nil || !(final > 0) || math.IsInf(final, 0) {
			t.Fatalf("%s: final loss %v (%v) in\n%s", masking, final, err, log.String())
		}
		finals = append(finals, final)
	}
	if finals[0] == finals[1] {
		t.Errorf("discrete and continuous masking gave the same final loss %v", finals[0])
	}
	cfg := smallRunConfig()
	cfg.SFT.DiffusionMasking = "bernoulli"
	if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "sft.diffusion_masking") {
		t.Errorf("unknown masking: err = %v", err)
	}
}
