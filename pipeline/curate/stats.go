package curate

import (
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/sampling"
)

// Stats are one prompt's curation statistics, as recorded in the sidecar.
type Stats struct {
	// Index is the row's 0-based position in the dataset.
	Index int64 `json:"index"`
	// PromptID identifies the prompt (data.Prompt.ID); a resume checks it
	// against the dataset's row at Index.
	PromptID uint64 `json:"prompt_id"`
	// Samples is how many rollouts were scored (N, or fewer when a remote
	// server lost some); Correct how many were right.
	Samples int `json:"samples"`
	Correct int `json:"correct"`
	// PassRate is Correct/Samples, OVS = PassRate·(1 − PassRate), TDS =
	// 1 − SelfBLEU-123 over the completions' tokens (0 for one sample).
	PassRate float64 `json:"pass_rate"`
	OVS      float64 `json:"ovs"`
	TDS      float64 `json:"tds"`
}

// VPS is the variance promotion score α·OVS + β·TDS.
func (s Stats) VPS(alpha, beta float64) float64 { return alpha*s.OVS + beta*s.TDS }

// groupStats computes the statistics of one prompt's samples from their
// correctness and completion tokens. Control tokens (PAD, BOS, EOS, Mask)
// are stripped before TDS, unlike MMR1's code, which keeps right padding
// (ALGORITHMS §2.5 pitfall 3).
func groupStats(index int64, id uint64, correct []bool, tokens [][]int32) Stats {
	s := Stats{Index: index, PromptID: id, Samples: len(correct)}
	for _, ok := range correct {
		if ok {
			s.Correct++
		}
	}
	if s.Samples > 0 {
		s.PassRate = float64(s.Correct) / float64(s.Samples)
	}
	s.OVS = sampling.OVS(s.PassRate)
	if len(tokens) >= 2 {
		clean := make([][]int32, len(tokens))
		for i, t := range tokens {
			clean[i] = stripControl(t)
		}
		s.TDS = 1 - sampling.SelfBLEU123(clean)
	}
	return s
}

// stripControl returns ts without control tokens, copying only when one is
// present.
func stripControl(ts []int32) []int32 {
	for i, t := range ts {
		if tokenizer.IsControl(t) {
			out := append([]int32(nil), ts[:i]...)
			for _, u := range ts[i+1:] {
				if !tokenizer.IsControl(u) {
					out = append(out, u)
				}
			}
			return out
		}
	}
	return ts
}
