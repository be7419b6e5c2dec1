package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
)

// sftState is state.json of an SFT warm-start checkpoint: what a resumed
// SFT needs beyond the weights and the optimizer state.
type sftState struct {
	// Phase is "sft", telling these checkpoints from the RL ones.
	Phase string `json:"phase"`
	// Step is the number of completed SFT steps (the next step to run).
	Step int `json:"step"`
	// Epoch and Pos locate the data order: Pos indices of Epoch's shuffle
	// have been drawn.
	Epoch uint64 `json:"epoch"`
	Pos   int    `json:"pos"`
	// Loss is the last completed step's loss.
	Loss float64 `json:"loss"`
	// ConfigHash identifies the configuration (as runState's does).
	ConfigHash string `json:"config_hash"`
	Version    string `json:"rlpipe_version"`
	Seed       uint64 `json:"seed"`
}

const sftPhase = "sft"

// SFTCheckpointsDir returns the directory holding the checkpoints of the
// SFT warm start of the run in outDir (OUT/sft/checkpoints), which
// --resume continues when the run has no RL checkpoint yet.
func SFTCheckpointsDir(outDir string) string { return filepath.Join(outDir, "sft", "checkpoints") }

func (r *runner) sftCheckpointsDir() string { return SFTCheckpointsDir(r.opts.OutDir) }

// resumesSFT reports whether --resume continues the SFT warm start: the
// run starts by SFT and has SFT checkpoints but no RL checkpoint.
func (r *runner) resumesSFT() (bool, error) {
	if r.cfg.Policy.Init != "" {
		return false, nil
	}
	rl, err := checkpoint.List(r.checkpointsDir())
	if err != nil || len(rl) > 0 {
		return false, err
	}
	sft, err := checkpoint.List(r.sftCheckpointsDir())
	return len(sft) > 0, err
}

// saveSFT writes an SFT checkpoint of j after j.done steps, whose last
// loss was loss, atomically (checkpoint.Writer) and prunes old ones to
// checkpoint.keep_last.
func (r *runner) saveSFT(j *sftJob, loss float64) error {
	root := r.sftCheckpointsDir()
	w, err := checkpoint.NewWriter(root, int64(j.done))
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := writeModel(w, j.pol); err != nil {
		return err
	}
	if err := w.WriteFile(optimizerFile, j.opt.SaveCompressed); err != nil {
		return err
	}
	st := sftState{Phase: sftPhase, Step: j.done, Epoch: j.order.epoch, Pos: j.order.pos, Loss: loss,
		ConfigHash: r.configHash, Version: Version, Seed: r.cfg.Seed}
	if err := w.WriteFile(stateFile, func(out io.Writer) error {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}); err != nil {
		return err
	}
	dir, err := w.Commit()
	if err != nil {
		return err
	}
	fmt.Fprintf(r.log, "sft checkpoint: %s\n", dir)
	return checkpoint.Prune(root, r.cfg.Check.KeepLast)
}

// latestSFT finds the newest SFT checkpoint that verifies (falling back
// past corrupt ones with --resume=previous-good), reads its state and
// refuses a changed configuration. It returns the checkpoint directory.
func (r *runner) latestSFT() (string, sftState, error) {
	info, skipped, err := checkpoint.Latest(r.sftCheckpointsDir(), r.opts.PreviousGood)
	if err != nil {
		return "", sftState{}, err
	}
	for _, e := range skipped {
		fmt.Fprintf(r.log, "resume: skipping %v\n", e)
	}
	path := filepath.Join(info.Dir, stateFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", sftState{}, fmt.Errorf("pipeline: %w", err)
	}
	var st sftState
	if err := json.Unmarshal(raw, &st); err != nil {
		return "", sftState{}, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	if st.Phase != sftPhase {
		return "", sftState{}, fmt.Errorf("pipeline: %s: phase %q, want %q", path, st.Phase, sftPhase)
	}
	if st.ConfigHash != r.configHash {
		return "", sftState{}, fmt.Errorf("%w: the configuration differs from the checkpointed run's (only train.steps may change on --resume); start a new --out or restore the config", ErrConfig)
	}
	return info.Dir, st, nil
}

// restoreSFT loads the optimizer state and data order of the SFT
// checkpoint dir (state st) into j, whose policy was loaded from dir.
func restoreSFT(j *sftJob, dir string, st sftState) error {
	if err := readFile(filepath.Join(dir, optimizerFile), func(in io.Reader) error {
		return j.opt.LoadCompressed(in, j.pol.Model.Params())
	}); err != nil {
		return err
	}
	if st.Pos < 0 || st.Pos > len(j.seqs) {
		return fmt.Errorf("pipeline: %s: data position %d outside the %d SFT examples", filepath.Join(dir, stateFile), st.Pos, len(j.seqs))
	}
	j.order.seek(st.Epoch, st.Pos)
	j.done = st.Step
	return nil
}

// errSFTInterrupted stops the SFT loop on an interrupt, after its
// checkpoint is written; sft turns it into ErrInterrupted.
var errSFTInterrupted = errors.New("pipeline: SFT interrupted")
