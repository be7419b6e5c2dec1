package learn

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/optim"
)

// meanNLL is the token mean of −ℓ: its gradient is −1/n on every token.
func TestMeanNLLIsTheTokenMean(t *testing.T) {
	loss, grad, err := meanNLL([][]float64{{-1, -2}, {-3}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(loss-2) > 1e-15 {
		t.Errorf("loss %v, want 2", loss)
	}
	for _, row := range grad {
		for _, g := range row {
			if g != -1.0/3 {
				t.Errorf("gradient %v, want −1/3", g)
			}
		}
	}
	if _, _, err := meanNLL([][]float64{{}}); err == nil {
		t.Error("an empty batch was accepted")
	}
}

// SFT trains either family on the same sequences: teacher forcing lowers
// a causal policy's NLL, and the masked-LM objective moves a diffusion
// policy's weights; Train stops at ctx's cancellation.
func TestSFTTrainsEitherFamily(t *testing.T) {
	cfg := policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 32, Vocab: 264, InitSeed: 3}
	causal, err := policy.NewModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	diffusion, err := policy.NewDiffusionModel(cfg)
	if err != nil {
		t.Fatal(err)
	}
	batch := policy.SeqBatch{Prompts: [][]int32{{8, 40}, {8, 41}}, Completions: [][]int32{{20, 21, 22}, {23, 24, 25}}}
	for _, m := range []policy.Trainable{causal, diffusion} {
		t.Run(m.Kind(), func(t *testing.T) {
			opt, _ := optim.NewAdamW(optim.AdamWConfig{LR: 1e-2})
			sched, _ := optim.NewSchedule(optim.ScheduleConfig{}, 1e-2)
			s, err := NewSFT(m, opt, sched, SFTConfig{Steps: 20, ClipNorm: 1, Seed: 1})
			if err != nil {
				t.Fatal(err)
			}
			before := weights(m)
			var losses []float64
			last, err := s.Train(context.Background(), func() policy.SeqBatch { return batch }, func(p SFTProgress) error {
				losses = append(losses, p.Loss)
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(losses) != 20 || last != losses[19] || slices.Equal(before, weights(m)) {
				t.Fatalf("%d steps, last loss %v of %v, weights moved %v", len(losses), last, losses, !slices.Equal(before, weights(m)))
			}
			if m.Kind() == policy.KindAR && !(losses[19] < losses[0]) {
				t.Errorf("NLL went from %v to %v", losses[0], losses[19])
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := s.Train(ctx, func() policy.SeqBatch { return batch }, nil); !errors.Is(err, context.Canceled) {
				t.Errorf("cancelled: err = %v", err)
			}
		})
	}
}
