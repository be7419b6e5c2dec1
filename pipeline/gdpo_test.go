package pipeline

import (
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// GDPO scores a rollout over the canvas the model denoised: the answer
// refilled with <eos>, and the length-normalised ratio uses that length.
func TestGDPOInputsFillTheCanvas(t *testing.T) {
	g := &gdpoLearner{canvas: 6}
	rows := []data.TrainRow{
		{Scored: data.Scored{Rollout: data.Rollout{PromptTokens: []int32{1, 2}, CompletionTokens: []int32{40, tokenizer.EOS}}}, Advantage: 0.5, Keep: true},
		{Scored: data.Scored{Rollout: data.Rollout{PromptTokens: []int32{1, 2}, CompletionTokens: []int32{40, 41, 42, 43, 44, 45}}}, Advantage: -0.5, Keep: true},
	}
	batch, _, lens, adv := g.inputs(rows, []int{0, 1})
	want := [][]int32{{40, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS, tokenizer.EOS}, {40, 41, 42, 43, 44, 45}}
	for i := range want {
		if !slices.Equal(batch.Completions[i], want[i]) || lens[i] != 6 {
			t.Fatalf("row %d: completion %v (len %d), want %v (len 6)", i, batch.Completions[i], lens[i], want[i])
		}
	}
	if !slices.Equal(adv, []float64{0.5, -0.5}) {
		t.Fatalf("advantages %v", adv)
	}
	if len(rows[0].CompletionTokens) != 2 {
		t.Fatal("the rollout itself was modified")
	}
}
