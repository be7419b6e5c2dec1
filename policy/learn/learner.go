package learn

import (
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// Learner updates a policy from one RL step's batch. It is driven by one
// goroutine; Update must not overlap generation with the policy it trains.
type Learner interface {
	// Update fills b.Rows' advantage columns (advantage, group_mean,
	// group_std) and applies the step's update to the policy's weights
	// through the optimizer. Rows with Keep false or no completion tokens
	// do not train.
	Update(b Batch) (Stats, error)
	// State returns the state the learner carries from step to step beyond
	// the policy's weights and the optimizer's moments, for checkpoints;
	// nil when it carries none (then a checkpoint holds no learner file).
	State() State
}

// State is a learner's checkpointed state. Save then Load into a learner
// built from the same Env restores it bit for bit, so that a resumed run
// continues exactly like an uninterrupted one.
type State interface {
	// Save writes the state.
	Save(w io.Writer) error
	// Load replaces the state with what Save wrote, refusing a state that
	// does not fit the learner (e.g. another policy's size).
	Load(r io.Reader) error
}

// Batch is one RL step's training input.
type Batch struct {
	// Step is the 0-based RL step: it keys the learning-rate schedule and
	// the step's random draws (e.g. GDPO's masks).
	Step int
	// Rows are the step's train rows, ordered by group. Update writes their
	// advantage columns in place; rows of dropped groups have Keep false.
	Rows []data.TrainRow
	// Groups[i] is row i's group number, non-decreasing in row order.
	Groups []int
}

// Stats are an update's metrics.
type Stats struct {
	// Loss, Metrics and GradNorm are the last optimizer step's; LR is the
	// step's learning rate.
	Loss, GradNorm, LR float64
	// Entropy is the mean per-token entropy of the policy on the first
	// mini-batch before the update (GRPO family; 0 elsewhere).
	Entropy float64
	Metrics objective.LossMetrics
	// TrainRows counts the rows that trained.
	TrainRows int
	// ZeroStdGroups counts groups whose rewards (after any KL penalty) are
	// all equal.
	ZeroStdGroups int
	// Algo holds algorithm-specific figures (e.g. bvpo/alpha); nil when
	// there are none.
	Algo map[string]float64
}

// Env is what a learner is built from: the policy it trains, the run's
// optimizer settings and the algorithm section.
type Env struct {
	// Policy is the policy to train. Each algorithm asserts the capability
	// interfaces it needs (policy.Causal, policy.ELBOScorer, ...).
	Policy policy.Trainable
	// Ref is the frozen reference policy (the run's starting point), of
	// Policy's family; it must be set when NeedsReference(Algo) and is
	// ignored otherwise.
	Ref policy.Trainable
	// Opt steps the weights once per mini-batch with Sched's learning rate
	// at Batch.Step. The caller owns both (and checkpoints Opt).
	Opt   *optim.AdamW
	Sched *optim.Schedule
	// Algo is the algorithm section; Algo.Name picks the learner.
	Algo Config
	// Temperature is the sampling temperature, at which causal policies
	// score their rollouts.
	Temperature float64
	// ClipNorm bounds the global gradient norm (0: no clipping).
	ClipNorm float64
	// Seed is the run seed (mini-batch shuffles, mask seeds).
	Seed uint64
	// Canvas is a diffusion policy's generation canvas in tokens.
	Canvas int
}

// Algorithm is a registered learner.
type Algorithm struct {
	// New builds the learner; it refuses a policy without the capabilities
	// the algorithm needs.
	New func(env Env) (Learner, error)
	// Reference reports whether a learner of cfg reads Env.Ref; nil means
	// never.
	Reference func(cfg Config) bool
	// Preset sets the algorithm's defaults in c after Config.ApplyPreset
	// reset its advantage and loss sections; nil means none.
	Preset func(c *Config)
	// Check refuses settings the learner cannot honour, so that the run
	// configuration is refused before any work; nil means none. New runs
	// it too.
	Check func(cfg Config) error
}

var (
	registryMu sync.RWMutex
	registry   = map[string]Algorithm{}
)

// Register makes a under name available to New and NeedsReference. It
// panics if name is empty or taken, or a.New is nil (programmer errors, as
// registration runs from init functions).
func Register(name string, a Algorithm) {
	if name == "" || a.New == nil {
		panic("learn: Register needs a name and a constructor")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("learn: algorithm %q registered twice", name))
	}
	registry[name] = a
}

// Names returns the registered algorithm names, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// lookup returns the algorithm registered as name ("" is rlpipe's
// default preset, as objective.Preset reads it).
func lookup(name string) (Algorithm, error) {
	if name == "" {
		name = objective.PresetDefault
	}
	registryMu.RLock()
	a, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return Algorithm{}, fmt.Errorf("%w: unknown algorithm %q (have %v)", ErrConfig, name, Names())
	}
	return a, nil
}

// New builds the learner that env.Algo.Name names.
func New(env Env) (Learner, error) {
	a, err := lookup(env.Algo.Name)
	if err != nil {
		return nil, err
	}
	if env.Policy == nil {
		return nil, fmt.Errorf("%w: %s: no policy", ErrConfig, env.Algo.Name)
	}
	if err := check(a, env.Algo); err != nil {
		return nil, err
	}
	if a.Reference != nil && a.Reference(env.Algo) && env.Ref == nil {
		return nil, fmt.Errorf("%w: %s needs the reference policy (Env.Ref)", ErrConfig, env.Algo.Name)
	}
	return a.New(env)
}

// Check reports the first setting of cfg that the learner cfg.Name names
// refuses (an ErrConfig), or an unknown name.
func Check(cfg Config) error {
	a, err := lookup(cfg.Name)
	if err != nil {
		return err
	}
	return check(a, cfg)
}

func check(a Algorithm, cfg Config) error {
	if a.Check == nil {
		return nil
	}
	if err := a.Check(cfg); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrConfig, cfg.Name, err)
	}
	return nil
}

// NeedsReference reports whether the learner cfg names reads a frozen
// reference policy (a KL term, KL in the reward, DPO). It is false for an
// unknown name, which New refuses.
func NeedsReference(cfg Config) bool {
	a, err := lookup(cfg.Name)
	return err == nil && a.Reference != nil && a.Reference(cfg)
}
