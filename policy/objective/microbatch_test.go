package objective

import (
	"math"
	"testing"
)

// trimmed cuts every row of in to its real (masked) length, so that
// micro-batches of it have different widths, as sequences of a real batch do.
func trimmed(in *LossInput) *LossInput {
	out := &LossInput{Adv: in.Adv}
	for i, m := range in.Mask {
		n := int(sum(m))
		out.Mask = append(out.Mask, m[:n])
		out.Logp, out.OldLogp = append(out.Logp, in.Logp[i][:n]), append(out.OldLogp, in.OldLogp[i][:n])
		out.RefLogp, out.Entropy = append(out.RefLogp, in.RefLogp[i][:n]), append(out.Entropy, in.Entropy[i][:n])
	}
	return out
}

// sub is rows [lo, hi) of in.
func sub(in *LossInput, lo, hi int) *LossInput {
	return &LossInput{Logp: in.Logp[lo:hi], OldLogp: in.OldLogp[lo:hi], RefLogp: in.RefLogp[lo:hi], Mask: in.Mask[lo:hi],
		Adv: in.Adv[lo:hi], Entropy: in.Entropy[lo:hi]}
}

// TestMicroBatchesSumToTheMiniBatch: for every aggregation, PolicyLoss over
// micro-batches with MicroBatchNorms' normalisers gives the mini-batch's
// loss, entropy loss, per-token gradients and metrics.
func TestMicroBatchesSumToTheMiniBatch(t *testing.T) {
	in := trimmed(randomLossInput(11, 7, 9, true))
	in.Mask[2] = in.Mask[2][:0] // an empty completion (no token)
	in.Logp[2], in.OldLogp[2], in.RefLogp[2], in.Entropy[2] = nil, nil, nil, nil
	for _, agg := range []AggMode{AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm, AggDrGRPO} {
		cfg := LossConfig{Agg: agg, ClipLow: new(0.2), ClipHigh: new(0.28), DualClip: 3, Beta: 0.04, KL: KLk3, EntropyCoef: 0.01}
		whole, err := PolicyLoss(nil, in, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tokens, seqs, mcfg := MicroBatchNorms(in.Mask, cfg)
		var loss, entLoss float64
		var m LossMetrics
		var grads, dEnt [][]float64
		for _, r := range [][2]int{{0, 3}, {3, 6}, {6, 7}} {
			part := sub(in, r[0], r[1])
			part.Tokens, part.Seqs = tokens, seqs
			res, err := PolicyLoss(nil, part, mcfg)
			if err != nil {
				t.Fatal(err)
			}
			loss, entLoss = loss+res.Loss, entLoss+res.EntropyLoss
			m = m.Merge(res.Metrics)
			grads, dEnt = append(grads, res.DLogp...), append(dEnt, res.DEntropy...)
		}
		near := func(what string, got, want float64) {
			if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
				t.Errorf("%s: %s = %.15g over micro-batches, %.15g whole", agg, what, got, want)
			}
		}
		near("loss", loss, whole.Loss)
		near("entropy loss", entLoss, whole.EntropyLoss)
		for i := range grads {
			for j := range grads[i] {
				near("dlogp", grads[i][j], whole.DLogp[i][j])
				near("dentropy", dEnt[i][j], whole.DEntropy[i][j])
			}
		}
		w := whole.Metrics
		for _, f := range []struct {
			name      string
			got, want float64
		}{{"pg", m.PGLoss, w.PGLoss}, {"kl", m.KLLoss, w.KLLoss}, {"entropy", m.Entropy, w.Entropy},
			{"clip low", m.ClipFracLow, w.ClipFracLow}, {"clip high", m.ClipFracHigh, w.ClipFracHigh},
			{"dual", m.ClipFracDual, w.ClipFracDual}, {"ratio mean", m.RatioMean, w.RatioMean},
			{"ratio max", m.RatioMax, w.RatioMax}, {"kl mean", m.KLMean, w.KLMean},
			{"approx kl", m.ApproxKL, w.ApproxKL}, {"tokens", m.Tokens, w.Tokens}} {
			near(f.name, f.got, f.want)
		}
	}
}
