package learn

import (
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// tinyCausal is a causal policy small enough to build in milliseconds.
func tinyCausal(t *testing.T) policy.Trainable {
	t.Helper()
	m, err := policy.NewModel(policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// testEnv is the Env of algo on pol with a reference copy of pol, AdamW
// at lr with a constant schedule, temperature 1 and no clipping.
func testEnv(t *testing.T, pol policy.Trainable, algo Config, lr float64) Env {
	t.Helper()
	opt, err := optim.NewAdamW(optim.AdamWConfig{LR: lr})
	if err != nil {
		t.Fatal(err)
	}
	sched, err := optim.NewSchedule(optim.ScheduleConfig{}, lr)
	if err != nil {
		t.Fatal(err)
	}
	return Env{Policy: pol, Ref: pol.Clone(), Opt: opt, Sched: sched, Algo: algo, Temperature: 1}
}

// setGroupAdvantages fills the rows' advantages, a group being a prompt in
// one mode (rows are ordered by group, three samples each).
func setGroupAdvantages(t *testing.T, rows []data.TrainRow) {
	t.Helper()
	groups := make([]int, len(rows))
	for i := range rows {
		groups[i] = i / 3
	}
	if _, err := computeAdvantages(rows, groups, objective.DefaultGRPOConfig().Advantage); err != nil {
		t.Fatal(err)
	}
}

// weights returns every parameter of m in order.
func weights(m policy.Trainable) []float32 {
	var out []float32
	for _, p := range m.Params() {
		out = append(out, p.Value...)
	}
	return out
}
