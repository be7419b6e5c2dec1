package policy

import "fmt"

// MaskedSums returns, for each evaluation j, S_j: the summed
// log-probability of the completion tokens of sequence seq[j] at the
// completion positions masks[j] (0-based), all of them masked at once and
// everything else visible, on the canvas ELBO uses. Every exact-k ELBO
// estimator is a weighted sum of such single-pass values; MaskedSums
// exposes them one mask at a time for measurements that need them so
// (policy/bench's count moments). Forward only, one canvas per evaluation
// in graphs of at most the model's chunk size; serialises with the model's
// other scoring calls. A bad batch, a sequence index out of range or a
// position outside its completion is an ErrInput.
func (m *DiffusionModel) MaskedSums(b SeqBatch, seq []int, masks [][]int) ([]float64, error) {
	width, err := m.checkBatch(b.Prompts, b.Completions)
	if err != nil {
		return nil, err
	}
	if len(seq) != len(masks) {
		return nil, fmt.Errorf("%w: masked sums: %d sequence indices but %d masks", ErrInput, len(seq), len(masks))
	}
	for j, i := range seq {
		if i < 0 || i >= len(b.Prompts) {
			return nil, fmt.Errorf("%w: masked sums: evaluation %d names sequence %d of %d", ErrInput, j, i, len(b.Prompts))
		}
		for _, pos := range masks[j] {
			if pos < 0 || pos >= len(b.Completions[i]) {
				return nil, fmt.Errorf("%w: masked sums: evaluation %d masks position %d of a %d-token completion", ErrInput, j, pos, len(b.Completions[i]))
			}
		}
	}
	// Prompts stay visible: no prompt masks.
	p := &elboPlan{b: b, width: width, n: len(b.Prompts), seq: seq, masks: masks, pmask: make([][]bool, len(seq))}
	out := make([]float64, 0, len(seq))
	m.net.mu.Lock()
	defer m.net.mu.Unlock()
	for lo := 0; lo < len(seq); lo += m.chunk() {
		hi := min(lo+m.chunk(), len(seq))
		g := p.grid(lo, hi)
		flat, err := m.forwardGrid(g)
		if err != nil {
			return nil, err
		}
		out = append(out, g.rowSums(flat)...)
	}
	return out, nil
}
