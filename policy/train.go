package policy

import (
	"fmt"
	"math"
)

// SeqBatch is a batch of sequences to score: sequence i is Prompts[i]
// followed by Completions[i]; only completion tokens are scored. Every
// prompt needs at least one token (normally BOS) and every sequence must
// fit the model's context.
type SeqBatch struct {
	Prompts, Completions [][]int32
	// Rows optionally gives each sequence's row in the batch it belongs to
	// (of BatchSize rows), for a mini-batch cut from a larger batch. Only
	// the diffusion ELBO reads it: double_mc with stratify: batch spreads
	// its mask counts over those rows, and a mini-batch must see the masks
	// the full batch saw. Nil means row i of len(Prompts).
	Rows      []int
	BatchSize int
}

// padMultiple is the granularity of the padded sequence length: graphs are
// compiled and cached per (batch size, padded length).
const padMultiple = 16

// PaddedLen is the length T a batch whose longest sequence has n tokens is
// padded to: n rounded up to a multiple of 16 (so that batches share
// compiled graphs), capped at context. Cost and FLOP estimates of a batch
// (policy/bench) count T, not n.
func PaddedLen(n, context int) int {
	return min((n+padMultiple-1)/padMultiple*padMultiple, context)
}

// batchLayout is a SeqBatch flattened into a right-padded (B, T) grid.
type batchLayout struct {
	B, T    int
	tokens  []int     // (B·T) ids, pad 0
	targets []int     // (B·T) id predicted at each position, −1 if unscored
	mask    []float32 // (B·T) 1 real, 0 pad
	start   []int     // flat index of the position predicting completion token 0
	count   []int     // completion lengths
}

// layout validates b against the model's context and vocabulary and
// flattens it.
func (m *Model) layout(b SeqBatch) (*batchLayout, error) {
	return newBatchLayout(b, m.cfg.Context, m.cfg.Vocab)
}

// buildGraph builds Model's graph for key over its weights.
func (m *Model) buildGraph(key graphKey) (*netGraph, error) { return buildNet(m.cfg, m.w, key) }

// newBatchLayout validates b against a model's context and vocabulary and
// flattens it right-padded; every causal family shares this format.
func newBatchLayout(b SeqBatch, context, vocab int) (*batchLayout, error) {
	if len(b.Prompts) != len(b.Completions) {
		return nil, fmt.Errorf("%w: %d prompts but %d completions", ErrInput, len(b.Prompts), len(b.Completions))
	}
	if len(b.Prompts) == 0 {
		return nil, fmt.Errorf("%w: empty batch", ErrInput)
	}
	maxL := 0
	for i, p := range b.Prompts {
		l := len(p) + len(b.Completions[i])
		if len(p) == 0 {
			return nil, fmt.Errorf("%w: sequence %d has an empty prompt", ErrInput, i)
		}
		if l > context {
			return nil, fmt.Errorf("%w: sequence %d has %d tokens, context is %d", ErrInput, i, l, context)
		}
		maxL = max(maxL, l)
	}
	T := min((maxL+padMultiple-1)/padMultiple*padMultiple, context)
	B := len(b.Prompts)
	lay := &batchLayout{B: B, T: T, tokens: make([]int, B*T), targets: make([]int, B*T),
		mask: make([]float32, B*T), start: make([]int, B), count: make([]int, B)}
	for i := range lay.targets {
		lay.targets[i] = -1
	}
	for i, p := range b.Prompts {
		c := b.Completions[i]
		row := i * T
		for j, t := range append(append([]int32(nil), p...), c...) {
			if t < 0 || int(t) >= vocab {
				return nil, fmt.Errorf("%w: sequence %d position %d: token %d outside [0, %d)", ErrInput, i, j, t, vocab)
			}
			lay.tokens[row+j] = int(t)
			lay.mask[row+j] = 1
		}
		lay.start[i], lay.count[i] = row+len(p)-1, len(c)
		for j, t := range c {
			lay.targets[row+len(p)-1+j] = int(t)
		}
	}
	return lay, nil
}

// checkTemperature validates a scoring temperature.
func checkTemperature(temperature float64) error {
	if !(temperature > 0) || math.IsInf(temperature, 0) {
		return fmt.Errorf("%w: temperature %v must be positive and finite", ErrInput, temperature)
	}
	return nil
}

// LossGradFunc is an objective evaluated outside the graph: given the
// per-token log-probs of each completion (logp[i][j] for completion i, token
// j, as float64 of the float32 forward) it returns the loss and dloss/dlogp
// with the same shape.
type LossGradFunc func(logp [][]float64) (loss float64, dlogp [][]float64, err error)

// EntropyLossGradFunc is an objective of the completion log-probs and of
// the entropies of the tempered next-token distributions they were drawn
// from: entropy[i][j] is H = −Σ_v p_v log p_v of the distribution at the
// position that scores completion i's token j (bit-identical to the entropy
// LogProbs reports). It returns the loss, dloss/dlogp and dloss/dentropy
// with the shapes of its inputs; dentropy may be nil (no entropy gradient).
type EntropyLossGradFunc func(logp, entropy [][]float64) (loss float64, dlogp, dentropy [][]float64, err error)

// callObjective splits the flat per-position log-probs into completions,
// calls f and scatters its gradient back (zero at unscored positions).
func (lay *batchLayout) callObjective(flat []float64, f LossGradFunc) (float64, []float64, error) {
	lp := make([][]float64, lay.B)
	for i := range lp {
		lp[i] = flat[lay.start[i] : lay.start[i]+lay.count[i]]
	}
	loss, d, err := f(lp)
	if err != nil {
		return 0, nil, fmt.Errorf("objective: %w", err)
	}
	out := make([]float64, len(flat))
	if err := lay.scatter(out, d, "log-prob"); err != nil {
		return 0, nil, err
	}
	return loss, out, nil
}

// callEntropyObjective is callObjective for entropy graphs, whose flat
// input holds the per-position log-probs followed by the entropies (2N).
func (lay *batchLayout) callEntropyObjective(flat []float64, f EntropyLossGradFunc) (float64, []float64, error) {
	n := len(flat) / 2
	lp, ent := make([][]float64, lay.B), make([][]float64, lay.B)
	for i := range lp {
		lo, hi := lay.start[i], lay.start[i]+lay.count[i]
		lp[i], ent[i] = flat[lo:hi], flat[n+lo:n+hi]
	}
	loss, dlp, dent, err := f(lp, ent)
	if err != nil {
		return 0, nil, fmt.Errorf("objective: %w", err)
	}
	out := make([]float64, len(flat))
	if err := lay.scatter(out[:n], dlp, "log-prob"); err != nil {
		return 0, nil, err
	}
	if dent != nil {
		if err := lay.scatter(out[n:], dent, "entropy"); err != nil {
			return 0, nil, err
		}
	}
	return loss, out, nil
}

// scatter copies per-completion gradients d into the flat per-position
// dst (left zero at unscored positions), checking d's shape.
func (lay *batchLayout) scatter(dst []float64, d [][]float64, what string) error {
	if len(d) != lay.B {
		return fmt.Errorf("objective returned %d %s gradient rows for %d sequences", len(d), what, lay.B)
	}
	for i, row := range d {
		if len(row) != lay.count[i] {
			return fmt.Errorf("objective returned %d %s gradients for sequence %d with %d tokens", len(row), what, i, lay.count[i])
		}
		copy(dst[lay.start[i]:], row)
	}
	return nil
}
