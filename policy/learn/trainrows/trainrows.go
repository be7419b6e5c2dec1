// Package trainrows holds train-row fixtures for tests of learners and of
// the code that wires them (policy/learn, its conformance suite learntest,
// pipeline): small batches whose groups, modes and rewards exercise the
// algorithms' branches. It imports no learner, so that policy/learn's own
// tests can use it.
package trainrows

import (
	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// BVPO is one step's rows for a causal policy: 3 prompts × 2 modes × 3
// samples with distinct rewards, so every group yields a DPO pair. Rows
// are ordered by group (prompt, then mode) and carry zero behaviour
// log-probs.
func BVPO() []data.TrainRow {
	var rows []data.TrainRow
	for p := 0; p < 3; p++ {
		for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
			for s := 0; s < 3; s++ {
				completion := []int32{int32(10 + p + s), int32(20 + s), int32(30 + int(mode))}
				rows = append(rows, data.TrainRow{Keep: true, Scored: data.Scored{
					Rollout: data.Rollout{PromptID: uint64(100 + p), Mode: mode, SampleIdx: int32(s),
						PromptTokens: []int32{8, int32(40 + p)}, CompletionTokens: completion, Logprobs: make([]float32, len(completion))},
					Reward: float64(s) / 2}})
			}
		}
	}
	return rows
}

// TieGroups gives every sample of prompt 101 in trace mode and of prompt
// 102 in empty mode the same reward, so that each mode of BVPO() has 3
// groups but only 2 DPO pairs and the two normalisations differ.
func TieGroups(rows []data.TrainRow) {
	for i := range rows {
		r := &rows[i]
		if (r.PromptID == 101 && r.Mode == data.ModeTrace) || (r.PromptID == 102 && r.Mode == data.ModeEmpty) {
			r.Reward = 1
		}
	}
}

// Alpha builds one step's rows with one group of two samples per
// letter of each mode's pattern; group k of both modes is prompt k. Every
// group has the same prompt and completions, so groups with the same letter
// have the same DPO gradient:
//
//	P  completion X preferred to Y
//	N  Y preferred to X: at θ = ref, N's DPO gradient is −P's (up to the
//	   rounding of log-probs that are equal in exact arithmetic)
//	Z  a tie: no pair, a zero gradient
func Alpha(trace, empty string) []data.TrainRow {
	x, y := []int32{10, 20, 30}, []int32{11, 21, 31}
	var rows []data.TrainRow
	for k := range max(len(trace), len(empty)) {
		for _, m := range []struct {
			mode    uint8
			pattern string
		}{{data.ModeTrace, trace}, {data.ModeEmpty, empty}} {
			if k >= len(m.pattern) {
				continue
			}
			r := map[byte][2]float64{'P': {1, 0}, 'N': {0, 1}, 'Z': {1, 1}}[m.pattern[k]]
			for s, c := range [][]int32{x, y} {
				rows = append(rows, data.TrainRow{Keep: true, Scored: data.Scored{
					Rollout: data.Rollout{PromptID: uint64(100 + k), Mode: m.mode, SampleIdx: int32(s),
						PromptTokens: []int32{8, 40}, CompletionTokens: c, Logprobs: make([]float32, len(c))},
					Reward: r[s]}})
			}
		}
	}
	return rows
}

// Diffusion is one step's rows for a diffusion policy: 3 prompts × 2
// samples whose completions of different lengths end with <eos> (so the
// canvas fill differs per row), with advantages of both signs. Each row's
// reward equals its advantage and each group's rewards sum to 0, so that
// advantages without std normalisation (GDPO's) reproduce them exactly.
func Diffusion() []data.TrainRow {
	var rows []data.TrainRow
	for p := range 3 {
		for s := range 2 {
			completion := []int32{int32(50 + 7*p + s), int32(90 + 3*s + p), int32(120 + 5*p)}
			adv := float32(2*s-1) * float32(p+1) / 4
			rows = append(rows, data.TrainRow{Keep: true, Advantage: adv,
				Scored: data.Scored{Rollout: data.Rollout{PromptID: uint64(700 + p), SampleIdx: int32(s),
					PromptTokens:     []int32{8, int32(30 + p), int32(33 + 2*p), 9, int32(60 + p), 10},
					CompletionTokens: append(completion[:1+(p+s)%3], tokenizer.EOS)}, Reward: float64(adv)}})
		}
	}
	return rows
}

// Groups numbers the groups of rows as the pipeline does: a run of rows
// with the same prompt and mode is one group.
func Groups(rows []data.TrainRow) []int {
	groups := make([]int, len(rows))
	for i := range rows {
		switch {
		case i == 0:
		case rows[i].PromptID != rows[i-1].PromptID || rows[i].Mode != rows[i-1].Mode:
			groups[i] = groups[i-1] + 1
		default:
			groups[i] = groups[i-1]
		}
	}
	return groups
}
