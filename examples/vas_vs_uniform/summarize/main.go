// Command summarize turns the eval.jsonl files of several rlpipe runs into a
// comparison table: per group (e.g. sampling kind), the held-out accuracy
// before RL and at the end (mean ± standard error over the group's runs),
// and the number of RL steps each run took to first reach a fixed accuracy.
//
//	go run ./examples/vas_vs_uniform/summarize -threshold 0.6 vas=runs/a vas=runs/b uniform=runs/c ...
//
// Each argument is GROUP=RUNDIR; groups are printed in the order they first
// appear. Only the trace-mode rows of eval.jsonl are read.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// evalRow is the part of an eval.jsonl line this program reads.
type evalRow struct {
	Step     int64   `json:"step"`
	Mode     string  `json:"mode"`
	Accuracy float64 `json:"accuracy"`
	N        int     `json:"n"`
}

// runCurve is one run's held-out accuracy by step, sorted by step.
type runCurve struct {
	dir  string
	rows []evalRow
}

func main() {
	threshold := flag.Float64("threshold", 0.6, "held-out accuracy for the steps-to-threshold column")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: summarize [-threshold A] GROUP=RUNDIR...")
		os.Exit(2)
	}
	var order []string
	groups := map[string][]runCurve{}
	for _, arg := range flag.Args() {
		name, dir, ok := strings.Cut(arg, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "summarize: %q is not GROUP=RUNDIR\n", arg)
			os.Exit(2)
		}
		c, err := readCurve(dir)
		if err != nil {
			fmt.Fprintln(os.Stderr, "summarize:", err)
			os.Exit(1)
		}
		if _, seen := groups[name]; !seen {
			order = append(order, name)
		}
		groups[name] = append(groups[name], c)
	}
	printTable(os.Stdout, order, groups, *threshold)
	printPaired(os.Stdout, order, groups)
}

// printPaired compares every group with the first one run by run (the i-th
// run of each group is taken to share the i-th run's seed): the paired
// change of final accuracy, and the steps each run took to reach the
// baseline run's final accuracy.
func printPaired(w io.Writer, order []string, groups map[string][]runCurve) {
	if len(order) < 2 {
		return
	}
	base := groups[order[0]]
	fmt.Fprintf(w, "\npaired by seed against %s (run i of each kind shares run i's seed)\n\n", order[0])
	fmt.Fprintf(w, "| kind | final − %s (points, mean ± se over seeds) | per seed | steps to reach %s's final accuracy (per seed; – = not reached) |\n", order[0], order[0])
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, name := range order[1:] {
		runs := groups[name]
		var diffs []float64
		var per, reach []string
		for i, c := range runs {
			if i >= len(base) {
				break
			}
			d := c.last().Accuracy - base[i].last().Accuracy
			diffs = append(diffs, d)
			per = append(per, fmt.Sprintf("%+.1f", 100*d))
			if s, ok := c.stepsTo(base[i].last().Accuracy); ok {
				reach = append(reach, fmt.Sprintf("%d (base %d)", s, base[i].last().Step))
			} else {
				reach = append(reach, "–")
			}
		}
		m, se := meanSE(diffs)
		fmt.Fprintf(w, "| %s | %s | %s | %s |\n", name, pm(m, se, 100, 1), strings.Join(per, ", "), strings.Join(reach, ", "))
	}
}

// readCurve reads dir/eval.jsonl.
func readCurve(dir string) (runCurve, error) {
	path := filepath.Join(dir, "eval.jsonl")
	f, err := os.Open(path)
	if err != nil {
		return runCurve{}, err
	}
	defer f.Close()
	c := runCurve{dir: dir}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		var r evalRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return runCurve{}, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		if r.Mode == "" || r.Mode == "trace" {
			c.rows = append(c.rows, r)
		}
	}
	if err := sc.Err(); err != nil {
		return runCurve{}, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.rows) == 0 {
		return runCurve{}, fmt.Errorf("%s: no trace-mode evaluation rows", path)
	}
	sort.SliceStable(c.rows, func(i, j int) bool { return c.rows[i].Step < c.rows[j].Step })
	return c, nil
}

// stepsTo returns the first evaluated step whose accuracy is at least t.
func (c runCurve) stepsTo(t float64) (int64, bool) {
	for _, r := range c.rows {
		if r.Accuracy >= t {
			return r.Step, true
		}
	}
	return 0, false
}

func (c runCurve) first() evalRow { return c.rows[0] }
func (c runCurve) last() evalRow  { return c.rows[len(c.rows)-1] }

// meanSE returns the mean of xs and its standard error (sample standard
// deviation / sqrt(n); NaN for fewer than 2 values).
func meanSE(xs []float64) (mean, se float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, math.NaN()
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1) / float64(len(xs)))
}

func pm(mean, se float64, scale float64, prec int) string {
	if math.IsNaN(mean) {
		return "—"
	}
	if math.IsNaN(se) {
		return fmt.Sprintf("%.*f", prec, scale*mean)
	}
	return fmt.Sprintf("%.*f ± %.*f", prec, scale*mean, prec, scale*se)
}

func printTable(w io.Writer, order []string, groups map[string][]runCurve, threshold float64) {
	fmt.Fprintf(w, "| kind | runs | before RL (%%) | final (%%, mean ± se) | Δ (points) | reached %.0f%% | steps to %.0f%% (mean ± se over runs that reached it) |\n",
		100*threshold, 100*threshold)
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|")
	for _, name := range order {
		runs := groups[name]
		var before, final, delta, steps []float64
		for _, c := range runs {
			before = append(before, c.first().Accuracy)
			final = append(final, c.last().Accuracy)
			delta = append(delta, c.last().Accuracy-c.first().Accuracy)
			if s, ok := c.stepsTo(threshold); ok {
				steps = append(steps, float64(s))
			}
		}
		b, bse := meanSE(before)
		f, fse := meanSE(final)
		d, dse := meanSE(delta)
		s, sse := meanSE(steps)
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %d/%d | %s |\n", name, len(runs), pm(b, bse, 100, 1), pm(f, fse, 100, 1),
			pm(d, dse, 100, 1), len(steps), len(runs), pm(s, sse, 1, 1))
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "per run: held-out accuracy (%) at each evaluated step")
	for _, name := range order {
		for _, c := range groups[name] {
			var b strings.Builder
			for _, r := range c.rows {
				fmt.Fprintf(&b, " %d:%.1f", r.Step, 100*r.Accuracy)
			}
			reached := "not reached"
			if s, ok := c.stepsTo(threshold); ok {
				reached = fmt.Sprintf("reached at step %d", s)
			}
			fmt.Fprintf(w, "  %-8s %-40s n=%d, %s;%s\n", name, c.dir, c.last().N, reached, b.String())
		}
	}
}
