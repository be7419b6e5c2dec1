package policy

import (
	"errors"
	"testing"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// A fully masked completion's sum is the one-step estimator's (no prompt
// masking): both score the same canvas.
func TestMaskedSumsOfFullMasksAreOneStepSums(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	b := tinyDiffusionBatch
	var seq []int
	var masks [][]int
	for i, c := range b.Completions {
		all := make([]int, len(c))
		for j := range all {
			all[j] = j
		}
		seq, masks = append(seq, i), append(masks, all)
	}
	got, err := m.MaskedSums(b, seq, masks)
	if err != nil {
		t.Fatal(err)
	}
	lp, err := m.OneStepLogProbs(b, objective.ELBOConfig{Estimator: objective.EstOneStep}, 1, []uint64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range lp {
		var want float64
		for _, v := range row {
			want += v
		}
		if d := got[i] - want; d > 1e-9 || d < -1e-9 {
			t.Errorf("sequence %d: masked sum %v, one-step sum %v", i, got[i], want)
		}
	}
}

func TestMaskedSumsRejectsBadEvaluations(t *testing.T) {
	m := tinyDiffusion(t, tinyDiffusionConfigs[0].cfg)
	for _, tc := range []struct {
		name  string
		seq   []int
		masks [][]int
	}{
		{"more indices than masks", []int{0, 1}, [][]int{{0}}},
		{"a sequence out of range", []int{3}, [][]int{{0}}},
		{"a position past the completion", []int{2}, [][]int{{2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.MaskedSums(tinyDiffusionBatch, tc.seq, tc.masks); !errors.Is(err, ErrInput) {
				t.Fatalf("err = %v, want ErrInput", err)
			}
		})
	}
}
