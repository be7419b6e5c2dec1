package learn_test

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/learn/learntest"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// envFor returns fresh equal Envs of algo on a tiny policy of the family
// the algorithm trains, with the optimizer bound as the pipeline binds it.
func envFor(algo learn.Config) func(t *testing.T) learn.Env {
	return func(t *testing.T) learn.Env {
		t.Helper()
		kind := policy.KindAR
		if learn.IsDiffusion(algo.Name) {
			kind = policy.KindDiffusion
		}
		m, err := policy.NewTrainable(kind, policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 3})
		if err != nil {
			t.Fatal(err)
		}
		opt, err := optim.NewAdamW(optim.AdamWConfig{LR: 1e-3})
		if err != nil {
			t.Fatal(err)
		}
		if err := opt.Bind(m.Params()); err != nil {
			t.Fatal(err)
		}
		sched, err := optim.NewSchedule(optim.ScheduleConfig{}, 1e-3)
		if err != nil {
			t.Fatal(err)
		}
		env := learn.Env{Policy: m, Opt: opt, Sched: sched, Algo: algo, Temperature: 1, ClipNorm: 1, Seed: 7, Canvas: 12}
		if learn.NeedsReference(algo) {
			env.Ref = m.Clone()
		}
		return env
	}
}

// Every registered learner keeps the Learner contract (learntest.Run):
// deterministic updates and an exact resume through State, for the
// settings that exercise its branches.
func TestEveryLearnerKeepsTheContract(t *testing.T) {
	causal := func() []data.TrainRow {
		rows := trainrows.BVPO()
		trainrows.TieGroups(rows)
		return rows
	}
	cases := []struct {
		name, algo string
		edit       func(*learn.Config) // after the preset: explicit fields win
		steps      []learn.Batch       // nil: three steps of the family's rows
	}{
		{"rlpipe", "rlpipe", nil, nil},
		{"grpo", "grpo", nil, nil},
		{"dr_grpo", "dr_grpo", func(c *learn.Config) { c.Loss.MaxLen = 8 }, nil},
		{"dapo with epochs, mini-batches and an entropy bonus", "dapo",
			func(c *learn.Config) { c.Epochs, c.MiniBatches, c.Loss.EntropyCoef = 2, 2, 0.01 }, nil},
		{"rlpipe with kl_in_reward", "rlpipe", func(c *learn.Config) { c.KLInReward = 0.05 }, nil},
		{"grpo with micro-batches of 3 sequences", "grpo", func(c *learn.Config) { c.MicroBatchSize = 3 }, nil},
		{"bvpo", "bvpo", nil, nil},
		{"bvpo base grpo", "bvpo", func(c *learn.Config) { c.BVPO.Base = learn.BVPOBaseGRPO }, nil},
		{"bvpo base grpo with a KL term", "bvpo", func(c *learn.Config) { c.BVPO.Base, c.Loss.Beta = learn.BVPOBaseGRPO, 0.1 }, nil},
		{"bvpo alpha auto", "bvpo", func(c *learn.Config) { c.BVPO.Alpha = learn.AutoAlpha() },
			[]learn.Batch{learntest.BatchOf(0, trainrows.Alpha("PNPN", "PPPP")), learntest.BatchOf(1, trainrows.Alpha("PNPN", "ZZZZ")),
				learntest.BatchOf(2, trainrows.Alpha("PNPN", "PNPP"))}},
		{"gdpo", "gdpo", nil, nil},
		{"gdpo with beta and 2 mini-batches", "gdpo", func(c *learn.Config) { c.GDPO.Beta, c.MiniBatches = 0.04, 2 }, nil},
		{"diffu_grpo", "diffu_grpo", nil, nil},
		{"reinforce with kl_in_reward and 2 mini-batches", "reinforce", func(c *learn.Config) { c.KLInReward, c.MiniBatches = 0.05, 2 }, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			algo := learn.DefaultConfig()
			algo.Name = tc.algo
			if err := algo.ApplyPreset(); err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(&algo)
			}
			steps := tc.steps
			if steps == nil {
				rows := causal
				if learn.IsDiffusion(algo.Name) {
					rows = trainrows.Diffusion
				}
				steps = []learn.Batch{learntest.BatchOf(0, rows()), learntest.BatchOf(1, rows()), learntest.BatchOf(2, rows())}
			}
			learntest.Run(t, envFor(algo), steps)
		})
	}
}

// TestMicroBatchesTrainLikeTheWholeBatch: gradient accumulation over
// micro-batches gives the update of the whole mini-batch for every GRPO
// aggregation (up to float32 summation order), and the same loss and
// metrics.
func TestMicroBatchesTrainLikeTheWholeBatch(t *testing.T) {
	rows := func() []data.TrainRow {
		r := trainrows.BVPO()
		trainrows.TieGroups(r)
		return r
	}
	for _, name := range []string{"rlpipe", "grpo", "dr_grpo", "dapo"} {
		algo := learn.DefaultConfig()
		algo.Name = name
		if err := algo.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		algo.Loss.EntropyCoef = 0.01
		run := func(micro int) ([]float32, learn.Stats) {
			a := algo
			a.MicroBatchSize = micro
			env := envFor(a)(t)
			l, err := learn.New(env)
			if err != nil {
				t.Fatal(err)
			}
			st, err := l.Update(learntest.BatchOf(0, rows()))
			if err != nil {
				t.Fatal(err)
			}
			var w []float32
			for _, p := range env.Policy.Params() {
				w = append(w, p.Value...)
			}
			return w, st
		}
		whole, stWhole := run(0)
		micro, stMicro := run(3)
		var diff, scale float64
		for i := range whole {
			diff = max(diff, math.Abs(float64(whole[i]-micro[i])))
			scale = max(scale, math.Abs(float64(whole[i])))
		}
		if diff > 1e-6*scale {
			t.Errorf("%s: weights differ by %g (scale %g) between whole and micro-batched updates", name, diff, scale)
		}
		if math.Abs(stWhole.Loss-stMicro.Loss) > 1e-6*(1+math.Abs(stWhole.Loss)) ||
			math.Abs(stWhole.Metrics.RatioMean-stMicro.Metrics.RatioMean) > 1e-9 || stWhole.Metrics.Tokens != stMicro.Metrics.Tokens {
			t.Errorf("%s: stats %+v whole, %+v micro-batched", name, stWhole, stMicro)
		}
	}
}
