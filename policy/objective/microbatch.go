package objective

// MicroBatchNorms prepares PolicyLoss for gradient accumulation over
// micro-batches of one mini-batch whose mask is mask: it returns the
// mini-batch's normalisers (for LossInput.Tokens and Seqs) and cfg with
// its width-dependent constants fixed (dr_grpo's max_len, and
// seq-mean-token-sum-norm's scale_factor when 0, to the mini-batch's
// longest row). PolicyLoss on each micro-batch with these then gives
// losses and gradients that sum to the whole mini-batch's: micro-batching
// trades memory for passes, never the objective.
func MicroBatchNorms(mask [][]float64, cfg LossConfig) (tokens, seqs float64, c LossConfig) {
	c = cfg
	for _, row := range mask {
		n := sum(row)
		tokens += n
		if cfg.agg() == AggDrGRPO || n > 0 {
			// dr_grpo divides by every row of the batch (B·L), the
			// sequence means by the rows that have a token.
			seqs++
		}
	}
	w := width(mask)
	switch cfg.agg() {
	case AggDrGRPO:
		if c.MaxLen == 0 {
			c.MaxLen = w
		}
	case AggSeqMeanTokenSumNorm:
		if c.ScaleFactor == 0 {
			c.ScaleFactor = float64(w)
		}
	}
	return tokens, seqs, c
}

// Merge combines the metrics of two micro-batches of one mini-batch (each
// computed with MicroBatchNorms' normalisers): the aggregated loss terms
// add, token-weighted means are re-weighted by Tokens, RatioMax is the
// larger.
func (m LossMetrics) Merge(o LossMetrics) LossMetrics {
	w := m.Tokens + o.Tokens
	mean := func(a, b float64) float64 {
		if w == 0 {
			return 0
		}
		return (a*m.Tokens + b*o.Tokens) / w
	}
	r := LossMetrics{
		PGLoss: m.PGLoss + o.PGLoss, KLLoss: m.KLLoss + o.KLLoss, Entropy: m.Entropy + o.Entropy,
		ClipFracLow: mean(m.ClipFracLow, o.ClipFracLow), ClipFracHigh: mean(m.ClipFracHigh, o.ClipFracHigh),
		ClipFracDual: mean(m.ClipFracDual, o.ClipFracDual), RatioMean: mean(m.RatioMean, o.RatioMean),
		KLMean: mean(m.KLMean, o.KLMean), ApproxKL: mean(m.ApproxKL, o.ApproxKL),
		RatioMax: max(m.RatioMax, o.RatioMax), Tokens: w,
	}
	switch {
	case m.Tokens == 0:
		r.RatioMax = o.RatioMax
	case o.Tokens == 0:
		r.RatioMax = m.RatioMax
	}
	return r
}
