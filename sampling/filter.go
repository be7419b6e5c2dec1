package sampling

// KeepGroup reports whether DAPO's dynamic-sampling filter keeps a group
// with these binary accuracies: iff their population std is > 0, i.e. not
// all equal, or the group is a singleton (verl's dapo rule, ALGORITHMS §1.7).
// An empty group is dropped.
func KeepGroup(correct []bool) bool {
	if len(correct) == 1 {
		return true
	}
	for _, c := range correct[min(1, len(correct)):] {
		if c != correct[0] {
			return true
		}
	}
	return false
}

// GroupFilter is DAPO dynamic sampling with a bounded refill, a pure
// function of the outcomes it is shown. The pipeline uses one FilterRound
// per step:
//
//	r := filter.Begin(B)
//	for n := r.Need(); n > 0; n = r.Need() {
//		picks, _ := sampler.Next(step, n)
//		groups := rollOutAndScore(picks)
//		sampler.Observe(step, groups)   // every group, kept or not
//		keep := r.Add(groups)           // train on groups[i] where keep[i]
//	}
//	res := r.Result()                   // counts for metrics
//
// A GroupFilter is immutable and safe for concurrent use.
type GroupFilter struct{ cfg FilterConfig }

// NewGroupFilter returns the filter cfg describes. With ZeroVariance false
// it keeps every group and never refills.
func NewGroupFilter(cfg FilterConfig) *GroupFilter { return &GroupFilter{cfg: cfg} }

// Begin starts collecting target groups for one step.
func (f *GroupFilter) Begin(target int) *FilterRound {
	return &FilterRound{cfg: f.cfg, res: FilterResult{Target: max(target, 0)}}
}

// FilterRound collects the kept groups of one step. Not safe for concurrent
// use.
type FilterRound struct {
	cfg FilterConfig
	res FilterResult
}

// FilterResult counts what the filter did in one step.
type FilterResult struct {
	Target    int  // groups wanted
	Kept      int  // groups kept (≤ Target)
	Dropped   int  // groups with zero accuracy variance
	Truncated int  // surplus groups beyond Target, not kept
	Rounds    int  // generation rounds; refill rounds are Rounds − 1
	Short     bool // the step proceeds with fewer than Target groups
}

// Need returns how many prompts to sample and roll out next: Target in the
// first round, then the shortfall while refill rounds remain, then 0.
func (r *FilterRound) Need() int {
	switch {
	case r.res.Rounds == 0:
		return r.res.Target
	case !r.cfg.ZeroVariance, r.res.Kept >= r.res.Target, r.res.Rounds > r.cfg.MaxRefillRounds:
		return 0
	}
	return r.res.Target - r.res.Kept
}

// Add records one round's scored groups and returns which to train on:
// groups passing KeepGroup (all when ZeroVariance is off), in order, up to
// Target in total.
func (r *FilterRound) Add(groups []GroupOutcome) []bool {
	r.res.Rounds++
	keep := make([]bool, len(groups))
	for i := range groups {
		switch {
		case r.cfg.ZeroVariance && !KeepGroup(groups[i].Correct):
			r.res.Dropped++
		case r.res.Kept >= r.res.Target:
			r.res.Truncated++
		default:
			keep[i] = true
			r.res.Kept++
		}
	}
	return keep
}

// Result returns the step's counts; Short is set when Kept < Target.
func (r *FilterRound) Result() FilterResult {
	res := r.res
	res.Short = res.Kept < res.Target
	return res
}

// Metrics returns the counts under "filter/…" keys for metrics.jsonl.
func (res FilterResult) Metrics() map[string]float64 {
	short := 0.0
	if res.Short {
		short = 1
	}
	return map[string]float64{
		"filter/target": float64(res.Target), "filter/kept": float64(res.Kept),
		"filter/dropped": float64(res.Dropped), "filter/truncated": float64(res.Truncated),
		"filter/rounds": float64(res.Rounds), "filter/short": short,
	}
}
