package pipeline

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/sampling"
)

// trainState is what a checkpoint holds of a run: the policy, its
// optimizer, the learner and its own state, the sampler, the number of
// completed steps, the picks already made for later steps and, with
// max_staleness 1 after a resume, the behaviour weights of the previous
// version. A fresh start and a resume build it the same way
// (newTrainState); a resume then loads the checkpoint into it (load), and
// save writes what load reads. The learner goroutine owns it during the
// loop.
type trainState struct {
	pol       *policyfile.Policy
	opt       *optim.AdamW  // the learner's optimizer, checkpointed here
	learner   learn.Learner // algorithm.name's learner
	sampler   sampling.Sampler
	step      int64                 // completed steps: the next step to run
	pending   map[int64]pendingPick // picks sent to rollout but not yet learned, by step
	behaviour policy.Trainable      // version step−1 weights when resuming with staleness 1
}

// pendingPick is a step's picked prompts and the sampler's statistics right
// after picking them.
type pendingPick struct {
	IDs   []uint64       `json:"ids"`
	Stats sampling.Stats `json:"stats"`
}

// shownStep is the number under which step index s (0-based) appears in
// progress lines, metrics.jsonl and error messages: s+1.
func shownStep(s int64) int64 { return s + 1 }

// pick chooses the n prompts of step s from train with the sampler and
// records the pick as pending until the step is learned, or replays the
// pending pick of a checkpoint, so that a resumed run rolls out the same
// prompts.
func (ts *trainState) pick(s int64, n int, train []data.Prompt) (stepPrompts, error) {
	if p, ok := ts.pending[s]; ok {
		return stepPrompts{Step: s, Prompts: promptsByID(train, p.IDs)}, nil
	}
	idx, err := ts.sampler.Next(s, n)
	if err != nil {
		return stepPrompts{}, fmt.Errorf("pipeline: sampler at step %d: %w", shownStep(s), err)
	}
	ps := make([]data.Prompt, len(idx))
	ids := make([]uint64, len(idx))
	for i, k := range idx {
		ps[i], ids[i] = train[k], train[k].ID
	}
	ts.pending[s] = pendingPick{IDs: ids, Stats: ts.sampler.Stats()}
	return stepPrompts{Step: s, Prompts: ps}, nil
}

func promptsByID(train []data.Prompt, ids []uint64) []data.Prompt {
	byID := make(map[uint64]int, len(train))
	for i, p := range train {
		byID[p.ID] = i
	}
	out := make([]data.Prompt, len(ids))
	for i, id := range ids {
		out[i] = train[byID[id]]
	}
	return out
}

// newTrainState builds the optimizer, the learner and a fresh sampler over
// the training prompts around pol (already configured), at step 0. A
// learner that needs a frozen reference policy gets ref, or a copy of
// pol's current weights when ref is nil.
func newTrainState(cfg RunConfig, pol *policyfile.Policy, ref policy.Trainable, train []data.Prompt) (*trainState, error) {
	ts := &trainState{pol: pol, pending: map[int64]pendingPick{}}
	if err := ts.buildLearner(cfg, ref); err != nil {
		return nil, err
	}
	ids := make([]uint64, len(train))
	for i, p := range train {
		ids[i] = p.ID
	}
	scfg := cfg.Sampling
	scfg.Seed ^= cfg.Seed
	var err error
	if ts.sampler, err = sampling.New(scfg, ids); err != nil {
		return nil, err
	}
	return ts, nil
}

// buildLearner builds the optimizer and the learner algorithm.name names
// for ts.pol, replacing any previous ones (ref as in newTrainState).
func (ts *trainState) buildLearner(cfg RunConfig, ref policy.Trainable) error {
	tc := cfg.Train
	opt, err := optim.NewAdamW(optim.AdamWConfig{LR: tc.LR, WeightDecay: weightDecay(tc.WeightDecay)})
	if err != nil {
		return err
	}
	// Bind now, so that a checkpoint of an optimizer that has not stepped yet
	// (every group filtered so far) serialises exactly as it will after a
	// resume.
	if err := opt.Bind(ts.pol.Model.Params()); err != nil {
		return err
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{Kind: optim.ScheduleConstant, WarmupSteps: tc.WarmupSteps}, tc.LR)
	if err != nil {
		return err
	}
	algo := cfg.Algorithm
	algo.Loss = cfg.lossConfig()
	if !learn.NeedsReference(algo) {
		ref = nil
	} else if ref == nil {
		ref = ts.pol.Model.Clone()
	}
	l, err := learn.New(learn.Env{Policy: ts.pol.Model, Ref: ref, Opt: opt, Sched: sched, Algo: algo,
		Temperature: cfg.Rollout.Temperature, ClipNorm: tc.ClipNorm, Seed: cfg.Seed, Canvas: cfg.Policy.Diffusion.Canvas})
	if err != nil {
		return err
	}
	ts.opt, ts.learner = opt, l
	return nil
}

// writeModel saves pol's weights, with its metadata, into the checkpoint
// being written as policyfile.ModelFile, and returns the metadata for the
// checkpoint's other weight files.
func writeModel(w *checkpoint.Writer, pol *policyfile.Policy) (map[string]string, error) {
	meta, err := pol.Meta()
	if err != nil {
		return nil, err
	}
	if err := pol.Model.Save(w.Path(policyfile.ModelFile), meta); err != nil {
		return nil, err
	}
	w.Add(policyfile.ModelFile)
	return meta, nil
}

// save writes the state after done completed steps into the checkpoint
// being written: weights, the behaviour weights when given, optimizer,
// sampler, learner state (when the learner has any) and state.json, which
// is st with the step and the pending picks filled in.
func (ts *trainState) save(w *checkpoint.Writer, done int64, behaviour policy.Trainable, st runState, mem memory.Allocator) error {
	meta, err := writeModel(w, ts.pol)
	if err != nil {
		return err
	}
	sidecars, err := ts.pol.SaveSidecars(filepath.Dir(w.Path(policyfile.ModelFile)))
	if err != nil {
		return err
	}
	for _, name := range sidecars {
		w.Add(name)
	}
	if behaviour != nil {
		if err := behaviour.Save(w.Path(behaviourFile), meta); err != nil {
			return err
		}
		w.Add(behaviourFile)
	}
	if err := w.WriteFile(optimizerFile, ts.opt.SaveCompressed); err != nil {
		return err
	}
	if err := w.WriteFile(samplerFile, func(out io.Writer) error { return ts.sampler.SaveState(out, mem) }); err != nil {
		return err
	}
	if s := ts.learner.State(); s != nil {
		if err := w.WriteFile(learnerFile, s.Save); err != nil {
			return err
		}
	}
	st.Step, st.PolicyVersion, st.Pending = done, done, map[int64]pendingPick{}
	for s, p := range ts.pending {
		if s >= done {
			st.Pending[s] = p
		}
	}
	return w.WriteFile(stateFile, func(out io.Writer) error {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	})
}

// load reads what save wrote into checkpoint dir, whose state.json is st,
// into a state newTrainState built from the checkpoint's weights.
// configure prepares the behaviour policy as the run's policy was.
func (ts *trainState) load(dir string, st runState, mem memory.Allocator, algorithm string, configure func(*policyfile.Policy) error) error {
	if err := readFile(filepath.Join(dir, optimizerFile), func(in io.Reader) error {
		return ts.opt.LoadCompressed(in, ts.pol.Model.Params())
	}); err != nil {
		return err
	}
	if err := ts.loadLearnerState(dir, algorithm); err != nil {
		return err
	}
	if err := readFile(filepath.Join(dir, samplerFile), func(in io.Reader) error { return ts.sampler.LoadState(in, mem) }); err != nil {
		return err
	}
	if err := ts.loadBehaviour(dir, configure); err != nil {
		return err
	}
	ts.step = st.Step
	ts.pending = map[int64]pendingPick{}
	for s, p := range st.Pending {
		ts.pending[s] = p
	}
	return nil
}

// loadLearnerState loads the learner's own state from checkpoint dir.
// A missing file is an error: continuing from fresh state would silently
// give a different run.
func (ts *trainState) loadLearnerState(dir, algorithm string) error {
	s := ts.learner.State()
	if s == nil {
		return nil
	}
	path := filepath.Join(dir, learnerFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("pipeline: resuming %s needs the checkpoint's %s: %w", algorithm, learnerFile, err)
	}
	return readFile(path, s.Load)
}

// loadBehaviour loads the behaviour policy of checkpoint dir, when it has
// one (max_staleness 1).
func (ts *trainState) loadBehaviour(dir string, configure func(*policyfile.Policy) error) error {
	if _, err := os.Stat(filepath.Join(dir, behaviourFile)); err != nil {
		return nil
	}
	m, _, err := policy.LoadTrainable(filepath.Join(dir, behaviourFile))
	if err != nil {
		return err
	}
	if err := configure(&policyfile.Policy{Model: m, Tokenizer: ts.pol.Tokenizer}); err != nil {
		return err
	}
	ts.behaviour = m
	return nil
}
