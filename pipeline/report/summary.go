package report

import (
	"fmt"
	"math"
	"strings"
)

// Stat describes one train series over the run. Best is the maximum; when
// several steps reach it, BestStep is the earliest. N is the number of steps
// that logged the series; with N == 0 the other fields are zero.
type Stat struct {
	N                             int
	First, Last, Best             float64
	FirstStep, LastStep, BestStep int64
}

// EvalChange is held-out accuracy of one split/mode series at its first and
// last evaluated step. Diff is Last-First; DiffStderr is
// sqrt(FirstStderr² + LastStderr²), which treats the two evaluations as
// independent and so ignores that they share problems.
type EvalChange struct {
	Split, Mode                          string
	Evals                                int // evaluated steps
	FirstStep, LastStep                  int64
	First, FirstStderr, Last, LastStderr float64
	Diff, DiffStderr                     float64
}

// StageBusy is the mean busy time of a pipeline stage per step, over the
// Steps steps that logged it.
type StageBusy struct {
	Name      string
	MeanBusyS float64
	Steps     int
}

// Summary is the text part of a report. Generate returns it and writes its
// String form to summary.txt. It is a plain value, safe to copy and read
// concurrently.
type Summary struct {
	Dir, OutDir         string
	Steps               int // distinct steps in metrics.jsonl
	FirstStep, LastStep int64
	Reward, Accuracy    Stat
	// Eval holds one entry per split/mode, sorted by "split/mode". When it is
	// empty, EvalNote says why.
	Eval     []EvalChange
	EvalNote string
	// Totals over all steps of the per-step counts.
	DroppedGroups, FilteredGroups, RewardErrors int64
	// Stages lists rollout, reward and learner in that order, those logged.
	// Bottleneck names the one with the largest mean busy time ("" if none).
	Stages     []StageBusy
	Bottleneck string
	// TokensPerSec is the mean of timing.tokens_per_s over TokensPerSecSteps.
	TokensPerSec      float64
	TokensPerSecSteps int
	// Plots are the PNG file names written into OutDir; Skipped those not
	// written because every series they would show is absent.
	Plots, Skipped []string
}

// stageGetters are the timing fields of metrics.jsonl, in pipeline order.
var stageGetters = []struct {
	name string
	get  getter
}{
	{"rollout", key("timing", "rollout_busy_s")},
	{"reward", key("timing", "reward_busy_s")},
	{"learner", key("timing", "learner_busy_s")},
}

// summarize computes everything but the plot lists.
func summarize(d *runData) *Summary {
	s := &Summary{
		Steps:     len(d.steps),
		FirstStep: int64(d.steps[0]),
		LastStep:  int64(d.steps[len(d.steps)-1]),
		Reward:    stat(d.series(key("reward_mean"))),
		Accuracy:  stat(d.series(key("accuracy"))),
		EvalNote:  d.evalNote,
	}
	s.DroppedGroups = total(d, "dropped_groups")
	s.FilteredGroups = total(d, "filtered_groups")
	s.RewardErrors = total(d, "reward_errors")
	best := -1.0
	for _, sg := range stageGetters {
		_, ys := d.series(sg.get)
		if len(ys) == 0 {
			continue
		}
		b := StageBusy{Name: sg.name, MeanBusyS: mean(ys), Steps: len(ys)}
		s.Stages = append(s.Stages, b)
		if b.MeanBusyS > best {
			best, s.Bottleneck = b.MeanBusyS, b.Name
		}
	}
	_, tps := d.series(key("timing", "tokens_per_s"))
	s.TokensPerSec, s.TokensPerSecSteps = mean(tps), len(tps)
	labels, groups := d.evalGroups()
	for _, l := range labels {
		g := groups[l]
		a, b := g[0], g[len(g)-1]
		s.Eval = append(s.Eval, EvalChange{
			Split: a.split, Mode: a.mode, Evals: len(g),
			FirstStep: int64(a.step), LastStep: int64(b.step),
			First: a.acc, FirstStderr: a.stderr, Last: b.acc, LastStderr: b.stderr,
			Diff: b.acc - a.acc, DiffStderr: math.Hypot(a.stderr, b.stderr),
		})
	}
	return s
}

func stat(xs, ys []float64) Stat {
	if len(ys) == 0 {
		return Stat{}
	}
	st := Stat{N: len(ys), First: ys[0], Last: ys[len(ys)-1], Best: ys[0],
		FirstStep: int64(xs[0]), LastStep: int64(xs[len(xs)-1]), BestStep: int64(xs[0])}
	for i, y := range ys {
		if y > st.Best {
			st.Best, st.BestStep = y, int64(xs[i])
		}
	}
	return st
}

func total(d *runData, k string) int64 {
	_, ys := d.series(key(k))
	var t float64
	for _, y := range ys {
		t += y
	}
	return int64(math.Round(t))
}

// mean is 0 for no values.
func mean(ys []float64) float64 {
	if len(ys) == 0 {
		return 0
	}
	var t float64
	for _, y := range ys {
		t += y
	}
	return t / float64(len(ys))
}

// String renders the summary as the text of summary.txt.
func (s *Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "run: %s\n", s.Dir)
	fmt.Fprintf(&b, "steps: %d (step %d to %d)\n", s.Steps, s.FirstStep, s.LastStep)
	writeStat(&b, "train reward", s.Reward)
	writeStat(&b, "train accuracy", s.Accuracy)
	if len(s.Eval) == 0 {
		fmt.Fprintf(&b, "held-out accuracy: no evaluations (%s)\n", s.EvalNote)
	} else {
		b.WriteString("held-out accuracy, first -> last (± stderr):\n")
		for _, e := range s.Eval {
			name := evalPoint{split: e.Split, mode: e.Mode}.label()
			fmt.Fprintf(&b, "  %-16s %.4f ± %.4f (step %d) -> %.4f ± %.4f (step %d), diff %+.4f ± %.4f over %d evals\n",
				name, e.First, e.FirstStderr, e.FirstStep, e.Last, e.LastStderr, e.LastStep, e.Diff, e.DiffStderr, e.Evals)
		}
	}
	fmt.Fprintf(&b, "dropped groups: %d total, filtered groups: %d total, reward errors: %d total\n",
		s.DroppedGroups, s.FilteredGroups, s.RewardErrors)
	if len(s.Stages) == 0 {
		b.WriteString("stage busy time: not logged\n")
	} else {
		b.WriteString("mean stage busy time per step:")
		for _, st := range s.Stages {
			fmt.Fprintf(&b, " %s %.3fs", st.Name, st.MeanBusyS)
		}
		fmt.Fprintf(&b, "; bottleneck: %s\n", s.Bottleneck)
	}
	if s.TokensPerSecSteps == 0 {
		b.WriteString("tokens/s: not logged\n")
	} else {
		fmt.Fprintf(&b, "tokens/s: %.1f mean over %d steps\n", s.TokensPerSec, s.TokensPerSecSteps)
	}
	fmt.Fprintf(&b, "plots in %s: %s\n", s.OutDir, listOrNone(s.Plots))
	if len(s.Skipped) > 0 {
		fmt.Fprintf(&b, "skipped (no data): %s\n", strings.Join(s.Skipped, ", "))
	}
	return b.String()
}

func writeStat(b *strings.Builder, name string, st Stat) {
	if st.N == 0 {
		fmt.Fprintf(b, "%s: not logged\n", name)
		return
	}
	fmt.Fprintf(b, "%s: first %.4f (step %d), last %.4f (step %d), best %.4f (step %d)\n",
		name, st.First, st.FirstStep, st.Last, st.LastStep, st.Best, st.BestStep)
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
