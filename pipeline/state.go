package pipeline

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// Version is the rlpipe release written into checkpoints and run
// directories: the one policy files record.
const Version = policyfile.Version

// Checkpoint file names (DESIGN §4).
const (
	optimizerFile = "optimizer.bin.zst"
	samplerFile   = "sampler.arrow"
	stateFile     = "state.json"
	// learnerFile holds the learner's State, only when it has any.
	learnerFile = "learner.bin"
)

// runState is state.json: what a resumed run needs beyond the weights,
// optimizer moments and sampler table.
type runState struct {
	// Step is the number of completed RL steps (the next step to run).
	Step int64 `json:"step"`
	// PolicyVersion is the version of model.safetensors (= Step).
	PolicyVersion int64 `json:"policy_version"`
	// Pending are the prompt ids already picked for steps ≥ Step (in flight
	// when max_staleness > 0), keyed by step.
	Pending map[int64]pendingPick `json:"pending,omitempty"`
	// ConfigHash identifies the configuration (without the step budget).
	ConfigHash string `json:"config_hash"`
	Version    string `json:"rlpipe_version"`
	Seed       uint64 `json:"seed"`
}

func (r *runner) checkpointsDir() string { return filepath.Join(r.opts.OutDir, "checkpoints") }

// checkpoint writes the state after done completed steps atomically and
// prunes old checkpoints.
func (r *runner) checkpoint(done int64, behaviour policy.Trainable) error {
	w, err := checkpoint.NewWriter(r.checkpointsDir(), done)
	if err != nil {
		return err
	}
	defer w.Abort()
	id := runState{ConfigHash: r.configHash, Version: Version, Seed: r.cfg.Seed}
	if err := r.ts.save(w, done, behaviour, id, r.mem); err != nil {
		return err
	}
	dir, err := w.Commit()
	if err != nil {
		return err
	}
	fmt.Fprintf(r.log, "checkpoint: %s\n", dir)
	return checkpoint.Prune(r.checkpointsDir(), r.cfg.Check.KeepLast)
}

// restore loads the newest complete checkpoint, refusing a changed
// configuration, and truncates the logs to it.
func (r *runner) restore() error {
	info, skipped, err := checkpoint.Latest(r.checkpointsDir(), r.opts.PreviousGood)
	if err != nil {
		return err
	}
	for _, e := range skipped {
		fmt.Fprintf(r.log, "resume: skipping %v\n", e)
	}
	raw, err := os.ReadFile(filepath.Join(info.Dir, stateFile))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	var st runState
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("pipeline: %s: %w", filepath.Join(info.Dir, stateFile), err)
	}
	if st.ConfigHash != r.configHash {
		return fmt.Errorf("%w: the configuration differs from the checkpointed run's (only train.steps may change on --resume); start a new --out or restore the config", ErrConfig)
	}
	pol, err := policyfile.Load(info.Dir)
	if err != nil {
		return err
	}
	if err := r.configurePolicy(pol); err != nil {
		return err
	}
	var ref policy.Trainable
	if learn.NeedsReference(r.cfg.Algorithm) {
		// The reference policy is the run's starting point: the SFT or --init
		// checkpoint, never the resumed weights.
		start, err := r.startingPolicy()
		if err != nil {
			return err
		}
		if err := r.configurePolicy(start); err != nil {
			return err
		}
		ref = start.Model
	}
	ts, err := newTrainState(r.cfg, pol, ref, r.train)
	if err != nil {
		return err
	}
	if err := ts.load(info.Dir, st, r.mem, r.cfg.Algorithm.Name, r.configurePolicy); err != nil {
		return err
	}
	r.ts = ts
	for _, name := range []string{metricsFile, evalFile} {
		if err := truncateJSONL(filepath.Join(r.opts.OutDir, name), st.Step); err != nil {
			return err
		}
	}
	fmt.Fprintf(r.log, "resume: continuing after step %d from %s\n", st.Step, info.Dir)
	return nil
}

// startingPolicy loads the policy the run started from (for the KL
// reference after a resume).
func (r *runner) startingPolicy() (*policyfile.Policy, error) {
	if r.cfg.Policy.Init != "" {
		return policyfile.Load(r.cfg.Policy.Init)
	}
	return policyfile.Load(filepath.Join(r.opts.OutDir, "sft"))
}

func readFile(path string, fn func(io.Reader) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	if err := fn(bufio.NewReader(f)); err != nil {
		return fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return nil
}

// configHash is the sha256 of the configuration with the step budget
// zeroed, so that only train.steps may change on resume.
func configHash(cfg RunConfig) (string, error) {
	cfg.Train.Steps = 0
	b, err := json.Marshal(cfg)
	if err != nil {
		return "", fmt.Errorf("pipeline: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

func (r *runner) openLogs() error {
	var err error
	if r.metrics, err = openJSONL(filepath.Join(r.opts.OutDir, metricsFile)); err != nil {
		return err
	}
	if r.evals, err = openJSONL(filepath.Join(r.opts.OutDir, evalFile)); err != nil {
		return err
	}
	r.progress = newProgress(r.log, r.cfg.Log.Progress, int64(r.cfg.Train.Steps), "rl")
	r.progress.set(r.ts.step, "")
	return nil
}

// firstEvals reads the starting policy's evaluation back from eval.jsonl.
func (r *runner) firstEvals() []EvalResult {
	rows, _ := readEvals(filepath.Join(r.opts.OutDir, evalFile))
	var out []EvalResult
	for _, e := range rows {
		if e.Step == 0 {
			out = append(out, e)
		}
	}
	return out
}

func (r *runner) lastEvals(ctx context.Context) ([]EvalResult, error) {
	r.progress.finish()
	return r.evaluate(ctx, int64(r.cfg.Train.Steps))
}

func readEvals(path string) ([]EvalResult, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []EvalResult
	for line := range splitLines(raw) {
		var e EvalResult
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
	}
	return out, nil
}

// summary prints held-out accuracy before → after for each mode.
func (r *runner) summary(res *RunResult) {
	for _, a := range res.After {
		for _, b := range res.Before {
			if b.Mode == a.Mode {
				fmt.Fprintf(r.log, "held-out accuracy (%s): %.3f ± %.3f → %.3f ± %.3f (n=%d, %d steps)\n",
					a.Mode, b.Accuracy, b.Stderr, a.Accuracy, a.Stderr, a.N, res.Steps)
			}
		}
	}
}

// dumpTrain writes a step's train batch into dir/name (Arrow IPC or
// Parquet by extension), atomically.
func (r *runner) dumpTrain(dir, name string, rows []data.TrainRow) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	tmp := filepath.Join(dir, ".tmp-"+name)
	w, err := data.CreateRecords(tmp, data.TrainSchema(), r.mem)
	if err != nil {
		return err
	}
	if err := w.WriteTrain(rows); err != nil {
		w.Close()
		os.Remove(tmp)
		return err
	}
	if err := w.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}
