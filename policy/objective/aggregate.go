package objective

import "fmt"

// AggMode selects how a per-token loss matrix L (B rows) is reduced to a
// scalar (ALGORITHMS §1.5). Every mode is linear: agg(L) = Σ_{i,t} m·s_i·L
// with a per-row scale s_i from [AggScales].
type AggMode string

// Aggregation modes. N_tok = Σ m, N_seq = rows with Σ_t m > 0 (both may be
// overridden by global counts, see [AggParams]).
const (
	// AggTokenMean: Σ m·L / N_tok (verl default, DAPO, TRL "dapo"/"bnpo").
	AggTokenMean AggMode = "token-mean"
	// AggSeqMeanTokenSum: Σ_i [Σ_t m·L] / N_seq.
	AggSeqMeanTokenSum AggMode = "seq-mean-token-sum"
	// AggSeqMeanTokenMean: Σ_i [Σ_t m·L / (Σ_t m + 1e-8)] / N_seq (original GRPO, TRL "grpo").
	AggSeqMeanTokenMean AggMode = "seq-mean-token-mean"
	// AggSeqMeanTokenSumNorm: Σ m·L / S with S = ScaleFactor, or the padded
	// width T when ScaleFactor is 0 (verl's Dr. GRPO mode; note there is no
	// division by B).
	AggSeqMeanTokenSumNorm AggMode = "seq-mean-token-sum-norm"
	// AggDrGRPO: Σ m·L / (B · MaxLen), B = all rows of the batch (TRL
	// loss_type="dr_grpo"; MaxLen = max_completion_length, or T when 0).
	AggDrGRPO AggMode = "dr_grpo"
)

// seqMeanTokenMeanEps is verl's guard in the per-sequence token mean.
const seqMeanTokenMeanEps = 1e-8

// Validate reports an unknown mode; "" is valid and means token-mean.
func (a AggMode) Validate() error {
	switch a {
	case "", AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm, AggDrGRPO:
		return nil
	}
	return fmt.Errorf("%w: aggregation %q: want token-mean, seq-mean-token-sum, seq-mean-token-mean, seq-mean-token-sum-norm or dr_grpo", ErrInvalid, a)
}

// AggParams are the normalisers of an aggregation. Zero fields take the
// local value.
type AggParams struct {
	// ScaleFactor is S of seq-mean-token-sum-norm (verl loss_scale_factor).
	ScaleFactor float64
	// MaxLen is the constant length of dr_grpo (TRL max_completion_length).
	MaxLen int
	// Tokens overrides N_tok (verl batch_num_tokens: the token count of the
	// whole mini-batch when it is processed in micro-batches).
	Tokens float64
	// Seqs overrides N_seq for the seq-mean modes and B for dr_grpo (verl
	// global_batch_size).
	Seqs float64
}

// AggScales fills dst[i] with the per-row scale s_i of the aggregation, so
// that agg(L) = Σ_{i,t} mask[i][t]·s_i·L[i][t]; it is also ∂agg/∂L (the
// entropy bonus's gradient [LossResult.DEntropy] is −EntropyCoef times it).
// dst is reused when large enough. An empty normaliser (no tokens) gives
// zero scales.
func AggScales(dst []float64, mask [][]float64, mode AggMode, p AggParams) []float64 {
	dst = resizeFloats(dst, len(mask))
	norm := aggNorm(mask, mode, p)
	for i, row := range mask {
		dst[i] = rowScale(row, mode, norm)
	}
	return dst
}

// aggNorm returns the batch-level denominator of the mode.
func aggNorm(mask [][]float64, mode AggMode, p AggParams) float64 {
	switch mode {
	case AggSeqMeanTokenSum, AggSeqMeanTokenMean:
		if p.Seqs > 0 {
			return p.Seqs
		}
		var n float64
		for _, row := range mask {
			if sum(row) > 0 {
				n++
			}
		}
		return n
	case AggSeqMeanTokenSumNorm:
		if p.ScaleFactor > 0 {
			return p.ScaleFactor
		}
		return float64(width(mask))
	case AggDrGRPO:
		b := float64(len(mask))
		if p.Seqs > 0 {
			b = p.Seqs
		}
		l := float64(p.MaxLen)
		if l == 0 {
			l = float64(width(mask))
		}
		return b * l
	default:
		if p.Tokens > 0 {
			return p.Tokens
		}
		var n float64
		for _, row := range mask {
			n += sum(row)
		}
		return n
	}
}

// rowScale is s_i for one mask row given the batch denominator.
func rowScale(row []float64, mode AggMode, norm float64) float64 {
	if norm == 0 {
		return 0
	}
	if mode == AggSeqMeanTokenMean {
		return 1 / ((sum(row) + seqMeanTokenMeanEps) * norm)
	}
	return 1 / norm
}

func sum(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v
	}
	return s
}

func width(rows [][]float64) int {
	w := 0
	for _, r := range rows {
		w = max(w, len(r))
	}
	return w
}
