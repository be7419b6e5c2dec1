package policy

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// canvasGrid is R canvases right-padded to T positions: the input of one
// forward graph of a DiffusionModel. A canvas is prompt ⧺ completion with
// some positions replaced by MaskToken; a masked completion position is
// scored against the token it hides (no shift), every other position is
// unscored (target −1).
type canvasGrid struct {
	R, T    int
	tokens  []int     // (R·T) input ids, pad 0
	targets []int     // (R·T) hidden token at scored positions, −1 elsewhere
	mask    []float32 // (R·T) 1 real position, 0 padding
}

func newCanvasGrid(r, t int) *canvasGrid {
	g := &canvasGrid{R: r, T: t, tokens: make([]int, r*t), targets: make([]int, r*t), mask: make([]float32, r*t)}
	for i := range g.targets {
		g.targets[i] = -1
	}
	return g
}

// fill writes canvas row i: prompt ⧺ comp, with the completion positions
// listed in masked (0-based within comp) hidden and scored, and prompt
// positions j with promptMask[j] hidden but unscored (promptMask may be
// nil).
func (g *canvasGrid) fill(i int, prompt, comp []int32, masked []int, promptMask []bool) {
	row := i * g.T
	for j, t := range prompt {
		g.tokens[row+j], g.mask[row+j] = int(t), 1
		if promptMask != nil && promptMask[j] {
			g.tokens[row+j] = int(MaskToken)
		}
	}
	base := row + len(prompt)
	for j, t := range comp {
		g.tokens[base+j], g.mask[base+j] = int(t), 1
	}
	for _, j := range masked {
		g.targets[base+j] = g.tokens[base+j]
		g.tokens[base+j] = int(MaskToken)
	}
}

// rowSums returns, per canvas, the sum of flat (R·T values, e.g. masked
// log-probs) over its scored positions.
func (g *canvasGrid) rowSums(flat []float64) []float64 {
	s := make([]float64, g.R)
	for r := range s {
		for j := r * g.T; j < (r+1)*g.T; j++ {
			if g.targets[j] >= 0 {
				s[r] += flat[j]
			}
		}
	}
	return s
}

// canvasWidth is the padded canvas length for sequences of at most maxLen
// tokens: a multiple of padMultiple (so graphs are shared across batches)
// capped at the context.
func canvasWidth(maxLen, context int) int {
	return PaddedLen(maxLen, context)
}

// checkBatch validates prompts and completions for scoring on the canvas:
// equal counts, non-empty prompts and completions, ids in the vocabulary,
// lengths within the context. It returns the padded canvas width.
func (m *DiffusionModel) checkBatch(prompts, comps [][]int32) (int, error) {
	if len(prompts) != len(comps) {
		return 0, fmt.Errorf("%w: %d prompts but %d completions", ErrInput, len(prompts), len(comps))
	}
	if len(prompts) == 0 {
		return 0, fmt.Errorf("%w: empty batch", ErrInput)
	}
	cfg := m.net.cfg
	maxL := 0
	for i, p := range prompts {
		c := comps[i]
		switch {
		case len(p) == 0:
			return 0, fmt.Errorf("%w: sequence %d has an empty prompt", ErrInput, i)
		case len(c) == 0:
			return 0, fmt.Errorf("%w: sequence %d has an empty completion", ErrInput, i)
		case len(p)+len(c) > cfg.Context:
			return 0, fmt.Errorf("%w: sequence %d has %d tokens, context is %d", ErrInput, i, len(p)+len(c), cfg.Context)
		}
		for j, t := range append(p[:len(p):len(p)], c...) {
			if t < 0 || int(t) >= cfg.Vocab {
				return 0, fmt.Errorf("%w: sequence %d position %d: token %d outside [0, %d)", ErrInput, i, j, t, cfg.Vocab)
			}
		}
		maxL = max(maxL, len(p)+len(c))
	}
	return canvasWidth(maxL, cfg.Context), nil
}

// forwardGrid runs the no-gradient graph over g and returns the flat
// log-probs log_softmax(logits)[target] at scored positions (0 elsewhere),
// computed by rowLogProb exactly as the training graph's gather does.
// Callers hold m.net.mu.
func (m *DiffusionModel) forwardGrid(g *canvasGrid) ([]float64, error) {
	ng, err := m.net.graphFor(graphKey{B: g.R, T: g.T})
	if err != nil {
		return nil, err
	}
	if err := ng.run(g.tokens, g.targets, g.mask); err != nil {
		return nil, fmt.Errorf("policy: diffusion forward pass: %w", err)
	}
	logits := ng.logits.Value().Data().([]float32)
	v := m.net.cfg.Vocab
	out := make([]float64, g.R*g.T)
	for n, t := range g.targets {
		if t >= 0 {
			out[n], _ = rowLogProb(logits[n*v:(n+1)*v], 1, t)
		}
	}
	return out, nil
}

// trainGrid runs the training graph (temperature 1) over g with fn as the
// objective on the flat masked log-probs (see lossHook), and ADDS the weight
// gradients into the model's buffers. It returns fn's loss. Callers hold
// m.net.mu.
func (m *DiffusionModel) trainGrid(g *canvasGrid, fn func(flat []float64) (float64, []float64, error)) (float64, error) {
	ng, err := m.net.graphFor(graphKey{B: g.R, T: g.T, invT: 1, train: true})
	if err != nil {
		return 0, err
	}
	ng.hook.fn = fn
	defer func() { ng.hook.fn = nil }()
	if err := ng.run(g.tokens, g.targets, g.mask); err != nil {
		return 0, fmt.Errorf("policy: diffusion forward/backward pass: %w", err)
	}
	for i, gn := range ng.grads {
		gv, ok := gn.Value().Data().([]float32)
		if !ok || len(gv) != len(m.net.grad[i]) {
			return 0, fmt.Errorf("policy: gradient of %s has unexpected type or size", m.net.names[i])
		}
		dst := m.net.grad[i]
		for j, v := range gv {
			dst[j] += v
		}
	}
	return ng.hook.loss, nil
}

// FillCanvas returns completion as the full generation canvas of canvas
// tokens: a completion that ended with <eos> before the canvas was full is
// extended with <eos> up to it, because that is the canvas the model fills
// at generation (LLaDA writes <eos> after the answer) and is trained on by
// the masked-diffusion SFT. ELBOs of rollouts are therefore sums over the
// whole canvas, as ALGORITHMS §3.2 prescribes (L_c includes the padding).
// A completion that does not end with <eos> (truncated) or is already
// canvas long is returned unchanged; the input is never modified.
func FillCanvas(completion []int32, canvas int) []int32 {
	n := len(completion)
	if n == 0 || n >= canvas || completion[n-1] != tokenizer.EOS {
		return completion
	}
	out := make([]int32, canvas)
	copy(out, completion)
	for i := n; i < canvas; i++ {
		out[i] = tokenizer.EOS
	}
	return out
}
