package policy

// Analytic FLOP counts, for speed figures as a ratio to the sgemm peak:
// 2 FLOPs per multiply-add of every weight matrix, plus attention's q·kᵀ
// and p·v over ctx keys (4·ctx per query channel). Normalisations,
// activations and softmax are not counted (they are not matrix work).

// ForwardFLOPsPerToken is the forward FLOPs of one token attending over
// ctx keys.
func (m *Model) ForwardFLOPsPerToken(ctx float64) float64 {
	c := m.cfg
	d, f := float64(c.DModel), float64(c.DFF)
	perLayer := 2*(4*d*d+2*d*f) + 4*ctx*d
	return float64(c.Layers)*perLayer + 2*d*float64(c.Vocab)
}

// VocabSize returns the number of token ids.
func (m *Model) VocabSize() int { return m.cfg.Vocab }

// TrainedLen is the length a batch whose longest sequence has n tokens is
// computed at (padded to a bucket of the context).
func (m *Model) TrainedLen(n int) int { return PaddedLen(n, m.cfg.Context) }

// ForwardFLOPsPerToken is the forward FLOPs of one token attending over
// ctx keys: q, k, v (grouped-query widths), o, the three SwiGLU
// projections and the head.
func (m *LlamaModel) ForwardFLOPsPerToken(ctx float64) float64 {
	c := m.cfg
	d, f := float64(c.HiddenSize), float64(c.IntermediateSize)
	qw, kvw := float64(c.Heads*c.HeadDim), float64(c.KVHeads*c.HeadDim)
	perLayer := 2*(2*d*qw+2*d*kvw+3*d*f) + 4*ctx*qw
	return float64(c.Layers)*perLayer + 2*d*float64(c.Vocab)
}

// TrainedLen is the length a batch whose longest sequence has n tokens is
// computed at (padded like Model's, within max_position_embeddings).
func (m *LlamaModel) TrainedLen(n int) int { return PaddedLen(n, m.cfg.MaxPositions) }
