package pipeline

import (
	"context"
	"errors"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// sft trains a fresh policy on the task's worked solutions and saves it in
// dir. With checkpointed (rlpipe run's warm start) it writes SFT
// checkpoints (sftcheckpoint.go) every sft.checkpoint_every steps, at the
// end and on an interrupt, after which it returns ErrInterrupted; with
// --resume it continues from the newest one, bit-identically.
func (r *runner) sft(ctx context.Context, dir string, checkpointed bool) (*policyfile.Policy, error) {
	pol, from, st, err := r.sftPolicy(checkpointed)
	if err != nil {
		return nil, err
	}
	if err := r.configurePolicy(pol); err != nil {
		return nil, err
	}
	task, _, _ := cutSpec(r.cfg.Data.Train)
	examples, err := data.GenerateExamples(task, data.SplitTrain, data.WithN(r.cfg.SFT.Examples),
		data.WithSeed(r.cfg.Seed), data.WithDifficulty(r.cfg.Data.Difficulty))
	if err != nil {
		return nil, fmt.Errorf("pipeline: SFT warm start needs a generated task with worked solutions (or set policy.init): %w", err)
	}
	tmpl, _ := data.TemplateByName(r.cfg.Data.Template)
	j, err := newSFTJob(pol, examples, tmpl, r.cfg.SFT, r.cfg.Seed, r.cfg.maxNewTokens())
	if err != nil {
		return nil, err
	}
	if from != "" {
		if err := restoreSFT(j, from, st); err != nil {
			return nil, err
		}
		fmt.Fprintf(r.log, "resume: continuing the SFT after step %d from %s\n", st.Step, from)
	}
	fmt.Fprintf(r.log, "sft: %d steps on %d %s examples\n", r.cfg.SFT.Steps, len(examples), task)
	loss, err := r.trainSFT(ctx, j, checkpointed, from != "", st.Loss)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(r.log, "sft: final loss %.4f\n", loss)
	if err := pol.Save(dir); err != nil {
		return nil, err
	}
	return pol, nil
}

// sftPolicy returns the policy SFT starts from: on a checkpointed
// --resume with SFT checkpoints, the newest one's (with its directory and
// state), else a fresh policy.model.
func (r *runner) sftPolicy(checkpointed bool) (*policyfile.Policy, string, sftState, error) {
	if checkpointed && r.opts.Resume {
		all, err := checkpoint.List(r.sftCheckpointsDir())
		if err != nil {
			return nil, "", sftState{}, err
		}
		if len(all) > 0 {
			dir, st, err := r.latestSFT()
			if err != nil {
				return nil, "", sftState{}, err
			}
			pol, err := policyfile.Load(dir)
			return pol, dir, st, err
		}
	}
	pol, err := policyfile.New(r.cfg.Policy.Kind, r.cfg.Policy.Model)
	return pol, "", sftState{}, err
}

// trainSFT runs j's remaining steps with the progress display, the
// sft.eval_every evaluations and, when checkpointed, the checkpoints and
// the interrupt check after every step; a checkpointed SFT always ends
// with a checkpoint of its last step on disk. resumed says j was restored
// from a checkpoint; loss is the last completed step's loss (0 for a fresh
// job). It returns the final one.
func (r *runner) trainSFT(ctx context.Context, j *sftJob, checkpointed, resumed bool, loss float64) (float64, error) {
	bar := newProgress(r.log, r.cfg.Log.Progress, int64(r.cfg.SFT.Steps), "sft")
	if j.done > 0 {
		bar.set(int64(j.done), "") // a resumed SFT's position
	}
	evalEvery, ckptEvery := r.cfg.SFT.EvalEvery, r.cfg.SFT.CheckpointEvery
	saved := -1 // the newest checkpoint's step
	if resumed {
		saved = j.done
	}
	_, err := j.train(ctx, func(p learn.SFTProgress) error {
		loss = p.Loss
		bar.set(int64(p.Step), fmt.Sprintf("sft loss %.3f  %.0f tok/s", p.Loss, p.TokensPerSec))
		if bar.bar == nil && (p.Step%100 == 0 || p.Step == p.Steps) {
			fmt.Fprintf(r.log, "sft step %d/%d: loss %.4f, lr %.2g, %.0f tokens/s\n", p.Step, p.Steps, p.Loss, p.LR, p.TokensPerSec)
		}
		if checkpointed {
			stop := interruptRequested(r.opts.Interrupt)
			if stop || (ckptEvery > 0 && p.Step%ckptEvery == 0) {
				if err := r.saveSFT(j, p.Loss); err != nil {
					return err
				}
				saved = p.Step
			}
			if stop {
				return errSFTInterrupted
			}
		}
		if evalEvery > 0 && p.Step%evalEvery == 0 && p.Step < p.Steps {
			return r.sftEval(ctx, j.pol, p.Step)
		}
		return nil
	})
	bar.finish()
	if errors.Is(err, errSFTInterrupted) {
		fmt.Fprintf(r.log, "sft: interrupted after step %d/%d\n", j.done, r.cfg.SFT.Steps)
		return 0, ErrInterrupted
	}
	if err != nil {
		return 0, err
	}
	if checkpointed && saved != j.done {
		if err := r.saveSFT(j, loss); err != nil {
			return 0, err
		}
	}
	return loss, nil
}

// interruptRequested reports whether ch (RunOptions.Interrupt) is closed.
func interruptRequested(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
