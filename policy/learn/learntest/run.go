// Package learntest is the conformance suite of learn.Learner: Run checks
// that a learner's updates are deterministic and that it resumes exactly
// from the weights, the optimizer's moments and its State.
package learntest

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
	"github.com/rlpipe/rlpipe/policy/learn/trainrows"
)

// Run checks the contract every learn.Learner must keep, for the learner
// learn.New builds from the Envs envs returns. envs must return an
// equivalent fresh Env on every call (a new policy with the same weights,
// its reference, a new optimizer bound to the policy's parameters, the same
// settings). steps are the batches of consecutive updates (at least two;
// their rows are copied, not modified). Run fails t unless
//
//   - Update succeeds on every step and moves the weights;
//   - two learners from equal Envs end at bit-identical weights: every
//     random draw is derived from the Env and the step;
//   - a learner rebuilt after the first step from the other's weights,
//     optimizer moments and State (the checkpoint's learner file) ends at
//     the same weights as an uninterrupted one, so that a resumed run
//     continues bit for bit whatever the learner carries between steps.
func Run(t *testing.T, envs func(t *testing.T) learn.Env, steps []learn.Batch) {
	t.Helper()
	if len(steps) < 2 {
		t.Fatal("learntest: Run needs at least two steps")
	}
	whole := envs(t)
	start := weights(whole.Policy)
	l := build(t, whole)
	for i, b := range steps {
		if _, err := l.Update(copyBatch(b)); err != nil {
			t.Fatalf("uninterrupted: step %d: %v", b.Step, err)
		}
		if i == 0 && slices.Equal(start, weights(whole.Policy)) {
			t.Fatalf("step %d left the weights unchanged; the checks below would prove nothing", b.Step)
		}
	}
	want := weights(whole.Policy)

	again := envs(t)
	l = build(t, again)
	for _, b := range steps {
		if _, err := l.Update(copyBatch(b)); err != nil {
			t.Fatalf("repeated: step %d: %v", b.Step, err)
		}
	}
	if !slices.Equal(weights(again.Policy), want) {
		t.Error("two learners built from equal Envs end at different weights")
	}

	first := envs(t)
	l = build(t, first)
	if _, err := l.Update(copyBatch(steps[0])); err != nil {
		t.Fatal(err)
	}
	resumed := envs(t)
	copyWeights(resumed.Policy, first.Policy)
	var opt bytes.Buffer
	if err := first.Opt.SaveCompressed(&opt); err != nil {
		t.Fatal(err)
	}
	if err := resumed.Opt.LoadCompressed(&opt, resumed.Policy.Params()); err != nil {
		t.Fatal(err)
	}
	r := build(t, resumed)
	if s := l.State(); s != nil {
		var state bytes.Buffer
		if err := s.Save(&state); err != nil {
			t.Fatal(err)
		}
		if r.State() == nil {
			t.Fatal("a learner built from an equal Env has no State to load into")
		}
		if err := r.State().Load(&state); err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range steps[1:] {
		if _, err := r.Update(copyBatch(b)); err != nil {
			t.Fatalf("resumed: step %d: %v", b.Step, err)
		}
	}
	if !slices.Equal(weights(resumed.Policy), want) {
		t.Error("a learner resumed from weights, optimizer and State ends at other weights than an uninterrupted one")
	}
}

func build(t *testing.T, env learn.Env) learn.Learner {
	t.Helper()
	l, err := learn.New(env)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// copyBatch copies b's rows (Update writes their advantage columns).
func copyBatch(b learn.Batch) learn.Batch {
	b.Rows = slices.Clone(b.Rows)
	return b
}

// BatchOf is the batch of rows at step, with groups numbered as the
// pipeline numbers them.
func BatchOf(step int, rows []data.TrainRow) learn.Batch {
	return learn.Batch{Step: step, Rows: rows, Groups: trainrows.Groups(rows)}
}

func weights(m policy.Trainable) []float32 {
	var out []float32
	for _, p := range m.Params() {
		out = append(out, p.Value...)
	}
	return out
}

func copyWeights(dst, src policy.Trainable) {
	s := src.Params()
	for i, p := range dst.Params() {
		copy(p.Value, s[i].Value)
	}
}
