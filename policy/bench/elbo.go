package bench

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// Defaults of ELBO.
const (
	DefaultELBORefPasses   = 256  // passes of the double-MC reference
	DefaultELBORepeats     = 32   // independent seeds per Monte Carlo row and budget
	DefaultELBOCountReps   = 16   // masks per count of the count-moment rows
	benchELBOBootstrap     = 400  // bootstrap resamples for the intervals
	benchOneStepPromptMask = 0.15 // d1 train.yaml p_mask_prompt
)

// purposeBench is the objective.Key purpose of every draw of ELBO (the
// value it had inside policy, so that the measurements stay identical).
const purposeBench uint64 = 0x6462656e // "dben"

// Methods of an ELBOEstimatorStats row.
const (
	// MethodCountMoments computes the row from per-count moments (see
	// measureCountMoments): exact in the mask count, Monte Carlo only in the
	// choice of masked positions.
	MethodCountMoments = "count_moments"
	// MethodMonteCarlo runs the estimator Repeats times with fresh seeds.
	MethodMonteCarlo = "monte_carlo"
)

// ELBOEstimatorStats is one row of ELBO: an estimator at a budget of
// Passes forward passes per sequence.
type ELBOEstimatorStats struct {
	// Method is MethodCountMoments (estimators with independent exact-k
	// masks: sdmc, double_mc, double_mc_batch) or MethodMonteCarlo (the
	// others, whose masks are coupled or include the prompt).
	Method string
	// Name is the estimator row: "sdmc", "double_mc", "double_mc_batch",
	// "one_step", "sdmc_cyclic" or "double_mc_cyclic" (see benchSpecs).
	Name string
	// Config is the plan of one estimate (for one_step, of each copy).
	Config objective.ELBOConfig
	// Copies is the number of independent estimates averaged to fill the
	// budget (one_step: Passes copies with different prompt masks; else 1).
	Copies int
	// Passes is the forward passes per sequence.
	Passes int
	// Repeats is the number of seeds a Monte Carlo row is taken over, or
	// the masks per count of a count-moment row.
	Repeats int
	// Variance is the mean over sequences of the sample variance (N−1) of
	// the estimate across Repeats seeds.
	Variance float64
	// Bias is the mean over sequences of (mean estimate − reference), the
	// reference being a RefPasses-pass double-MC estimate.
	Bias float64
	// VarianceCI and BiasCI are 95% percentile-bootstrap intervals
	// (sequences resampled, and the repeats of each resampled).
	VarianceCI, BiasCI [2]float64
	// varianceBoot holds the bootstrap replicates of Variance; replicate k
	// of every row resamples the same sequences, so that ratios of rows
	// can be bootstrapped (VarianceRatioCI).
	varianceBoot []float64
}

// benchSpec is an estimator at a budget.
type benchSpec struct {
	name   string
	cfg    objective.ELBOConfig
	copies int
	// moments: computed from count moments rather than by Monte Carlo.
	moments bool
}

// benchSpecs returns the estimators compared at p passes: sdmc with the
// largest Gauss rule n ≤ 5 dividing p and p/n draws per node (gauss-1 at 1,
// gauss-2 at 2, gauss-4 at 4, gauss-4×2 at 8), MaskMin 1; double_mc with p
// passes whose counts are stratified over the rollout's passes (LLaDA's
// likelihood evaluation; independent masks); "double_mc_batch", the GDPO
// reference's MCEstimator on the bench's batch of rollouts (counts
// stratified over the batch, so independent across one rollout's passes);
// one_step averaged over p prompt masks (p = 0.15); and sdmc and double_mc
// again with cyclic mask coupling (rows "sdmc_cyclic", "double_mc_cyclic").
func benchSpecs(p int) []benchSpec {
	n := 1
	for k := 5; k >= 1; k-- {
		if p%k == 0 {
			n = k
			break
		}
	}
	sdmc := objective.ELBOConfig{Estimator: objective.EstSDMC, Rule: objective.Rule(fmt.Sprintf("gauss-%d", n)), Draws: p / n, MaskMin: 1}
	dmc := objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: p}
	dmcBatch := dmc
	dmcBatch.Stratify = objective.StratifyBatch
	sdmcCyclic, dmcCyclic := sdmc, dmc
	sdmcCyclic.Coupling, dmcCyclic.Coupling = objective.CouplingCyclic, objective.CouplingCyclic
	return []benchSpec{
		{"sdmc", sdmc, 1, true},
		{"double_mc", dmc, 1, true},
		{"double_mc_batch", dmcBatch, 1, true},
		{"one_step", objective.ELBOConfig{Estimator: objective.EstOneStep, PromptMaskProb: benchOneStepPromptMask}, p, false},
		{"sdmc_cyclic", sdmcCyclic, 1, false},
		{"double_mc_cyclic", dmcCyclic, 1, false},
	}
}

// ELBOResult is the output of ELBO.
type ELBOResult struct {
	// Rows are the estimators at every budget.
	Rows []ELBOEstimatorStats
	// Profile is the ELBO integrand per mask count, from the count moments.
	Profile []CountProfile
}

// ELBOOptions configure ELBO; zero fields take the defaults.
type ELBOOptions struct {
	// Passes are the forward-pass budgets per sequence (e.g. 1, 2, 4, 8).
	Passes []int
	// RefPasses is the budget of the double-MC bias reference (256).
	RefPasses int
	// Repeats is the number of seeds of each Monte Carlo row (32).
	Repeats int
	// CountReps is the number of masks per count of the count moments (16).
	CountReps int
	// Seed derives every mask and bootstrap resample.
	Seed uint64
}

// elboModel is what ELBO measures: a policy scored by ELBO estimates that
// also evaluates single masks (*policy.DiffusionModel).
type elboModel interface {
	policy.ELBOScorer
	MaskedSums(b policy.SeqBatch, seq []int, masks [][]int) ([]float64, error)
}

// ELBO measures the ELBO estimators of ALGORITHMS §3.2–3.4 on model m
// and batch b at equal forward-pass budgets: for each budget in c.Passes it
// rows sdmc, double_mc, double_mc_batch, one_step and the cyclic variants
// (see benchSpecs for the exact plans). Rows of estimators with independent
// exact-k masks come from count moments (MethodCountMoments: CountReps
// masks at every count of every sequence, combined exactly over the count
// distribution); the others from Repeats Monte Carlo seeds. The bias
// reference is a RefPasses-pass double-MC estimate. Results are
// deterministic in (t, b, c).
// Cost per sequence of L tokens: CountReps·L + RefPasses + Repeats·Σ passes
// per Monte Carlo row. Serialises with the model's other scoring calls.
// A policy without ELBO scoring and single-mask sums (any family but the
// diffusion LM) is a policy.ErrInput.
func ELBO(t policy.Trainable, b policy.SeqBatch, c ELBOOptions) (*ELBOResult, error) {
	m, ok := t.(elboModel)
	if !ok {
		return nil, fmt.Errorf("%w: bench elbo needs a %s policy, not %s", policy.ErrInput, policy.KindDiffusion, t.Kind())
	}
	c.RefPasses = cmp.Or(c.RefPasses, DefaultELBORefPasses)
	c.Repeats = cmp.Or(c.Repeats, DefaultELBORepeats)
	c.CountReps = cmp.Or(c.CountReps, DefaultELBOCountReps)
	if c.RefPasses < 0 || c.Repeats < 2 || c.CountReps < 2 || len(c.Passes) == 0 {
		return nil, fmt.Errorf("%w: bench elbo: need passes, refPasses >= 0, >= 2 repeats and >= 2 masks per count", policy.ErrInput)
	}
	seed := c.Seed
	keys := make([]uint64, len(b.Prompts))
	for i := range keys {
		keys[i] = objective.Key(seed, purposeBench, uint64(i))
	}
	ref, err := m.ELBO(b, objective.ELBOConfig{Estimator: objective.EstDoubleMC, Draws: c.RefPasses},
		objective.Key(seed, purposeBench, 0x726566), keys)
	if err != nil {
		return nil, fmt.Errorf("bench elbo: reference: %w", err)
	}
	cm, err := measureCountMoments(m, b, c.CountReps, objective.Key(seed, purposeBench, 0x636f756e74))
	if err != nil {
		return nil, fmt.Errorf("bench elbo: count moments: %w", err)
	}
	seqKey := objective.Key(seed, purposeBench, 0x736571)
	var out []ELBOEstimatorStats
	for _, p := range c.Passes {
		if p < 1 {
			return nil, fmt.Errorf("%w: bench elbo: budget %d passes", policy.ErrInput, p)
		}
		for si, s := range benchSpecs(p) {
			repKey := objective.Key(seed, purposeBench, 0x626f6f74, uint64(p), uint64(si))
			row := ELBOEstimatorStats{Name: s.name, Config: s.cfg, Copies: s.copies, Passes: p}
			if s.moments {
				row.Method, row.Repeats = MethodCountMoments, c.CountReps
				if row.Variance, row.Bias, err = cm.momentRow(s.cfg, ref, c.CountReps, nil, nil); err != nil {
					return nil, fmt.Errorf("bench elbo: %s at %d passes: %w", s.name, p, err)
				}
				if row.VarianceCI, row.BiasCI, row.varianceBoot, err = bootstrapMomentsCI(cm, s.cfg, ref, c.CountReps, seqKey, repKey); err != nil {
					return nil, fmt.Errorf("bench elbo: %s at %d passes: %w", s.name, p, err)
				}
				out = append(out, row)
				continue
			}
			est := make([][]float64, c.Repeats) // [repeat][sequence]
			for r := range est {
				est[r] = make([]float64, len(keys))
				for cp := range s.copies {
					e, err := m.ELBO(b, s.cfg, objective.Key(seed, purposeBench, uint64(p), uint64(si), uint64(r), uint64(cp)), keys)
					if err != nil {
						return nil, fmt.Errorf("bench elbo: %s at %d passes: %w", s.name, p, err)
					}
					for i, v := range e {
						est[r][i] += v / float64(s.copies)
					}
				}
			}
			row.Method, row.Repeats = MethodMonteCarlo, c.Repeats
			row.Variance, row.Bias = varianceBias(est, ref, nil, nil)
			row.VarianceCI, row.BiasCI, row.varianceBoot = bootstrapCI(est, ref, seqKey, repKey)
			out = append(out, row)
		}
	}
	return &ELBOResult{Rows: out, Profile: cm.profile()}, nil
}

// varianceBias returns the mean over sequences seqs (nil: all) of the
// sample variance of est[idx[r]][i] across r, and of its mean minus ref[i].
// A nil idx uses every repeat once.
func varianceBias(est [][]float64, ref []float64, idx, seqs []int) (variance, bias float64) {
	if idx == nil {
		idx = make([]int, len(est))
		for r := range idx {
			idx[r] = r
		}
	}
	if seqs == nil {
		seqs = make([]int, len(ref))
		for i := range seqs {
			seqs[i] = i
		}
	}
	n := float64(len(idx))
	for _, i := range seqs {
		var mean float64
		for _, r := range idx {
			mean += est[r][i]
		}
		mean /= n
		var ss float64
		for _, r := range idx {
			ss += (est[r][i] - mean) * (est[r][i] - mean)
		}
		variance += ss / (n - 1)
		bias += mean - ref[i]
	}
	return variance / float64(len(seqs)), bias / float64(len(seqs))
}

// bootstrapCI returns 95% percentile intervals of varianceBias, and the
// variance replicates, over a two-level bootstrap (see bootstrapRows). The
// sequence level matters: a few sequences with heavy-tailed estimates
// carry most of double_mc's variance.
func bootstrapCI(est [][]float64, ref []float64, seqKey, repKey uint64) (vci, bci [2]float64, boot []float64) {
	vci, bci, boot, _ = bootstrapRows(len(ref), len(est), seqKey, repKey, func(idx, seqs []int) (float64, float64, error) {
		v, b := varianceBias(est, ref, idx, seqs)
		return v, b, nil
	})
	return vci, bci, boot
}

// bootstrapMomentsCI is bootstrapCI for a count-moment row: the repeats
// resampled are the masks of every count.
func bootstrapMomentsCI(cm *countMoments, cfg objective.ELBOConfig, ref []float64, reps int, seqKey, repKey uint64) (vci, bci [2]float64, boot []float64, err error) {
	return bootstrapRows(len(ref), reps, seqKey, repKey, func(idx, seqs []int) (float64, float64, error) {
		return cm.momentRow(cfg, ref, reps, idx, seqs)
	})
}

// bootstrapRows runs benchELBOBootstrap replicates of stat (a row's
// variance and bias) and returns their 95% percentile intervals and the
// variance replicates. Replicate k resamples the n sequences from
// NewStream(Key(seqKey, k)) — the same for every row, so replicate ratios
// of two rows compare like with like — and the reps repeats from
// NewStream(repKey) (one resample for all sequences).
func bootstrapRows(n, reps int, seqKey, repKey uint64, stat func(idx, seqs []int) (float64, float64, error)) (vci, bci [2]float64, boot []float64, err error) {
	s := objective.NewStream(repKey)
	vs, bs := make([]float64, benchELBOBootstrap), make([]float64, benchELBOBootstrap)
	idx := make([]int, reps)
	seqs := make([]int, n)
	for k := range vs {
		ss := objective.NewStream(objective.Key(seqKey, uint64(k)))
		for i := range seqs {
			seqs[i] = ss.Intn(n)
		}
		for r := range idx {
			idx[r] = s.Intn(reps)
		}
		if vs[k], bs[k], err = stat(idx, seqs); err != nil {
			return vci, bci, nil, err
		}
	}
	boot = slices.Clone(vs)
	return percentiles(vs), percentiles(bs), boot, nil
}

// percentiles returns the 2.5% and 97.5% order statistics of x (sorted in
// place).
func percentiles(x []float64) [2]float64 {
	slices.Sort(x)
	at := func(q float64) float64 { return x[min(len(x)-1, int(math.Floor(q*float64(len(x)))))] }
	return [2]float64{at(0.025), at(0.975)}
}

// VarianceRatio returns Variance(num)/Variance(den) of the rows of stats
// named num and den at the given budget, e.g. VarianceRatio(stats, "sdmc",
// "double_mc", 2) for the GDPO acceptance check (target ≤ 0.5). It fails if
// either row is missing or the denominator is 0.
func VarianceRatio(stats []ELBOEstimatorStats, num, den string, passes int) (float64, error) {
	find := func(name string) (float64, bool) {
		for _, s := range stats {
			if s.Name == name && s.Passes == passes {
				return s.Variance, true
			}
		}
		return 0, false
	}
	a, okA := find(num)
	b, okB := find(den)
	if !okA || !okB || b == 0 {
		return 0, fmt.Errorf("%w: variance ratio %s/%s at %d passes: rows missing or zero denominator", policy.ErrInput, num, den, passes)
	}
	return a / b, nil
}

// VarianceRatioCI returns VarianceRatio and its 95% percentile-bootstrap
// interval: replicate k divides the two rows' k-th variance replicates,
// which resample the same sequences.
func VarianceRatioCI(stats []ELBOEstimatorStats, num, den string, passes int) (float64, [2]float64, error) {
	r, err := VarianceRatio(stats, num, den, passes)
	if err != nil {
		return 0, [2]float64{}, err
	}
	var a, b []float64
	for _, s := range stats {
		if s.Passes != passes {
			continue
		}
		switch s.Name {
		case num:
			a = s.varianceBoot
		case den:
			b = s.varianceBoot
		}
	}
	if len(a) == 0 || len(a) != len(b) {
		return r, [2]float64{}, fmt.Errorf("%w: variance ratio %s/%s at %d passes: no bootstrap replicates", policy.ErrInput, num, den, passes)
	}
	ratios := make([]float64, 0, len(a))
	for k := range a {
		if b[k] > 0 {
			ratios = append(ratios, a[k]/b[k])
		}
	}
	if len(ratios) == 0 {
		return r, [2]float64{}, fmt.Errorf("%w: variance ratio %s/%s at %d passes: zero denominators", policy.ErrInput, num, den, passes)
	}
	return r, percentiles(ratios), nil
}
