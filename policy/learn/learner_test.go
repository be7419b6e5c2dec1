package learn

import (
	"errors"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
)

// Every algorithm the run configuration names is registered, and the
// preset of each is valid.
func TestRegistryHoldsEveryAlgorithm(t *testing.T) {
	want := []string{"bvpo", "dapo", "diffu_grpo", "dr_grpo", "gdpo", "grpo", "reinforce", "rlpipe"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for _, name := range append(want, "") {
		c := DefaultConfig()
		c.Name = name
		if err := c.ApplyPreset(); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	c := DefaultConfig()
	c.Name = "ppo2"
	if err := c.ApplyPreset(); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown name: ApplyPreset err = %v, want ErrConfig", err)
	}
	if _, err := New(Env{Policy: tinyCausal(t), Algo: c}); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown name: New err = %v, want ErrConfig", err)
	}
}

// A learner refuses a policy without the capabilities its algorithm needs,
// and a missing reference it reads.
func TestNewRefusesPoliciesItCannotTrain(t *testing.T) {
	diffusion, err := policy.NewDiffusionModel(policy.Config{Layers: 1, DModel: 8, Heads: 1, DFF: 8, Context: 16, InitSeed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		pol  policy.Trainable
	}{{"rlpipe", diffusion}, {NameBVPO, diffusion}, {NameGDPO, tinyCausal(t)}, {NameDiffuGRPO, tinyCausal(t)}} {
		algo := DefaultConfig()
		algo.Name = tc.name
		if err := algo.ApplyPreset(); err != nil {
			t.Fatal(err)
		}
		if _, err := New(testEnv(t, tc.pol, algo, 1e-3)); !errors.Is(err, ErrConfig) {
			t.Errorf("%s on a %s policy: err = %v, want ErrConfig", tc.name, tc.pol.Kind(), err)
		}
	}
	algo := DefaultConfig()
	algo.Loss.Beta = 0.1
	env := testEnv(t, tinyCausal(t), algo, 1e-3)
	env.Ref = nil
	if _, err := New(env); !errors.Is(err, ErrConfig) {
		t.Errorf("a KL term without a reference: err = %v, want ErrConfig", err)
	}
}

// NeedsReference follows what each learner reads: the loss's KL term, KL
// in the reward, DPO, GDPO's KL.
func TestNeedsReferenceFollowsTheAlgorithm(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want bool
	}{
		{"rlpipe", func(*Config) {}, false},
		{"rlpipe with loss.beta", func(c *Config) { c.Loss.Beta = 0.01 }, true},
		{"rlpipe with kl_in_reward", func(c *Config) { c.KLInReward = 0.01 }, true},
		{"bvpo dpo", func(c *Config) { c.Name = NameBVPO }, true},
		{"bvpo grpo", func(c *Config) { c.Name, c.BVPO.Base = NameBVPO, BVPOBaseGRPO }, false},
		{"gdpo", func(c *Config) { c.Name = NameGDPO }, false},
		{"gdpo with beta", func(c *Config) { c.Name, c.GDPO.Beta = NameGDPO, 0.04 }, true},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if got := NeedsReference(c); got != tc.want {
			t.Errorf("%s: NeedsReference = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// Update is the group advantages followed by the update: it writes the
// rows' advantage columns and reports the zero-std groups.
func TestUpdateFillsTheAdvantages(t *testing.T) {
	rows := trainrows.BVPO()
	trainrows.TieGroups(rows)
	want := slices.Clone(rows)
	setGroupAdvantages(t, want)
	l, err := New(testEnv(t, tinyCausal(t), DefaultConfig(), 1e-3))
	if err != nil {
		t.Fatal(err)
	}
	before := weights(l.(*grpo).pol)
	st, err := l.Update(Batch{Step: 0, Rows: rows, Groups: trainrows.Groups(rows)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rows {
		if rows[i].Advantage != want[i].Advantage || rows[i].GroupMean != want[i].GroupMean || rows[i].GroupStd != want[i].GroupStd {
			t.Errorf("row %d: advantage %v mean %v std %v, want %v %v %v", i, rows[i].Advantage, rows[i].GroupMean, rows[i].GroupStd,
				want[i].Advantage, want[i].GroupMean, want[i].GroupStd)
		}
	}
	if st.ZeroStdGroups != 2 || st.TrainRows != len(rows) {
		t.Errorf("zero-std groups %d, train rows %d; want 2 (the tied ones) and %d", st.ZeroStdGroups, st.TrainRows, len(rows))
	}
	if slices.Equal(before, weights(l.(*grpo).pol)) {
		t.Error("the update left the weights unchanged")
	}
	if l.State() != nil {
		t.Error("a GRPO learner reports state to checkpoint")
	}
}

// The mask seeds every GDPO and diffusion SFT checkpoint depends on, as
// the pipeline's own SplitMix64 computed them before this package existed.
func TestMaskSeedsKeepTheirValues(t *testing.T) {
	g := &gdpo{core: core{seed: 1}}
	if got := g.maskSeed(3); got != 0x3bffc8261a26f047 {
		t.Errorf("GDPO mask seed of run seed 1, step 3: %#x, want 0x3bffc8261a26f047", got)
	}
	if got := rng.SFTMaskSeed(7, 5); got != 0x20bb4305298c79eb {
		t.Errorf("diffusion SFT mask seed of run seed 7, step 5: %#x, want 0x20bb4305298c79eb", got)
	}
}
