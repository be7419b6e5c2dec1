package pipeline

// Run-level and configuration tests of the algorithms: that a run with each
// learner completes and logs its figures, resumes bit for bit, and that the
// algorithm keys are validated. The learners' own tests are in
// policy/learn.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/config"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
)

// A fixed-α BVPO run evaluates and logs both modes. Alpha auto in a run is
// covered by TestBVPOAutoAlphaRunWithFewPromptsCompletes and
// TestBVPOAutoAlphaResumeIsBitIdentical (where α must move); how α moves,
// by policy/learn.TestBVPOAutoAlphaFollowsTheGradientVariances.
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

func TestKLInRewardConfigIsValidatedNamingTheKeys(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*RunConfig)
		want []string // substrings of the error; nil: valid
	}{
		{"off by default", func(*RunConfig) {}, nil},
		{"on with the default loss", func(c *RunConfig) { c.Algorithm.KLInReward = 0.01 }, nil},
		{"negative", func(c *RunConfig) { c.Algorithm.KLInReward = -0.01 }, []string{"algorithm.kl_in_reward"}},
		{"NaN", func(c *RunConfig) { c.Algorithm.KLInReward = math.NaN() }, []string{"algorithm.kl_in_reward"}},
		{"together with the loss's KL", func(c *RunConfig) { c.Algorithm.KLInReward, c.Algorithm.Loss.Beta = 0.01, 0.001 },
			[]string{"algorithm.kl_in_reward", "algorithm.loss.beta", "mutually exclusive"}},
		{"with bvpo", func(c *RunConfig) { c.Algorithm.Name, c.Algorithm.KLInReward = learn.NameBVPO, 0.01 },
			[]string{"algorithm.kl_in_reward", "bvpo"}},
		{"with gdpo", func(c *RunConfig) {
			c.Policy.Kind, c.Algorithm.Name, c.Algorithm.KLInReward = policy.KindDiffusion, learn.NameGDPO, 0.01
		}, []string{"algorithm.kl_in_reward", "gdpo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultRunConfig()
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) {
				t.Fatalf("err = %v, want ErrConfig", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// A run with kl_in_reward reports the mean penalty in metrics.jsonl.
func TestKLInRewardRunReportsThePenalty(t *testing.T) {
	cfg := smallRunConfig()
	cfg.Algorithm.KLInReward = 0.05
	cfg.Train.Steps = 2
	out := t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: out}); err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, filepath.Join(out, metricsFile))
	for i, line := range lines {
		var m struct {
			Algo map[string]float64 `json:"algo"`
		}
		if err := json.Unmarshal(line, &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m.Algo[learn.MetricKLRewardPenalty]; !ok {
			t.Errorf("step %d: no %s in %s", i+1, learn.MetricKLRewardPenalty, line)
		}
	}
}

// algorithm.loss.entropy_coef is refused, naming the key, wherever no
// learner would apply it.
func TestEntropyCoefIsRefusedWhereItWouldBeIgnored(t *testing.T) {
	cases := []struct {
		name    string
		set     func(c *RunConfig)
		refused bool
	}{
		{"grpo", func(c *RunConfig) {}, false},
		{"bvpo base grpo", func(c *RunConfig) { c.Algorithm.Name, c.Algorithm.BVPO.Base = learn.NameBVPO, learn.BVPOBaseGRPO }, false},
		{"bvpo base dpo", func(c *RunConfig) { c.Algorithm.Name = learn.NameBVPO }, true},
		{"gdpo", func(c *RunConfig) { c.Policy.Kind, c.Algorithm.Name = policy.KindDiffusion, learn.NameGDPO }, true},
		{"diffu_grpo", func(c *RunConfig) { c.Policy.Kind, c.Algorithm.Name = policy.KindDiffusion, learn.NameDiffuGRPO }, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, coef := range []float64{0, 0.01} {
				cfg := smallRunConfig()
				tc.set(&cfg)
				cfg.Algorithm.Loss.EntropyCoef = coef
				err := cfg.Validate()
				switch {
				case coef == 0 || !tc.refused:
					if err != nil {
						t.Fatalf("entropy_coef %v: %v", coef, err)
					}
				case !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "algorithm.loss.entropy_coef"):
					t.Fatalf("entropy_coef %v: error %v, want a config error naming algorithm.loss.entropy_coef", coef, err)
				}
			}
		})
	}
}

// The diffu_grpo preset is d1's objective (ALGORITHMS §3.4): per-token
// ratios of one-step log-probs, token-mean, ε = 0.5, β = 0.04 with k3,
// prompt masking 0.15, no std; the sequence-level form stays available.
func TestPresetDiffuGRPOSelectsThePerTokenRatio(t *testing.T) {
	cfg := DefaultRunConfig()
	cfg.Policy.Kind, cfg.Algorithm.Name = policy.KindDiffusion, learn.NameDiffuGRPO
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	g := cfg.Algorithm.GDPO
	if g.Ratio != objective.RatioToken || g.Beta != 0.04 || g.KL != objective.KLk3 || g.DualClip != 0 ||
		g.ClipLow == nil || *g.ClipLow != 0.5 || g.ClipHigh == nil || *g.ClipHigh != 0.5 ||
		g.ELBO.Estimator != objective.EstOneStep || g.ELBO.PromptMaskProb != 0.15 || cfg.Algorithm.Advantage.Std != objective.StdNone {
		t.Errorf("diffu_grpo preset: %+v, advantage %+v", g, cfg.Algorithm.Advantage)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.Algorithm.GDPO.Ratio = objective.RatioELBODiff
	if err := cfg.Validate(); err != nil {
		t.Errorf("the sequence-level form was refused: %v", err)
	}
	cfg.Algorithm.GDPO.Ratio, cfg.Algorithm.GDPO.ELBO = objective.RatioToken, objective.DefaultELBOConfig()
	if err := cfg.Validate(); err == nil {
		t.Error("ratio token with the sdmc estimator was accepted")
	}
}

// algorithm.micro_batch_size is refused, naming the key, where no learner
// would apply it (every algorithm outside the GRPO family).
func TestMicroBatchSizeIsRefusedWhereItWouldBeIgnored(t *testing.T) {
	for _, tc := range []struct {
		name    string
		set     func(c *RunConfig)
		refused bool
	}{
		{"rlpipe", func(c *RunConfig) {}, false},
		{"dr_grpo", func(c *RunConfig) { c.Algorithm.Name = "dr_grpo" }, false},
		{"bvpo", func(c *RunConfig) { c.Algorithm.Name = learn.NameBVPO }, true},
		{"reinforce", func(c *RunConfig) { c.Algorithm.Name = "reinforce" }, true},
		{"gdpo", func(c *RunConfig) { c.Policy.Kind, c.Algorithm.Name = policy.KindDiffusion, learn.NameGDPO }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := smallRunConfig()
			tc.set(&cfg)
			if err := cfg.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			cfg.Algorithm.MicroBatchSize = 4
			err := cfg.Validate()
			if !tc.refused && err != nil {
				t.Fatal(err)
			}
			if tc.refused && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "algorithm.micro_batch_size")) {
				t.Fatalf("error %v, want a config error naming algorithm.micro_batch_size", err)
			}
		})
	}
}
