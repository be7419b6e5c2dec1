package report

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sort"
)

// getter extracts one number from a metrics row; false means "absent here".
type getter func(map[string]any) (float64, bool)

// key returns a getter for the number at a key path such as
// ("timing", "rollout_busy_s"). Path elements are keys, never split on dots
// or slashes, because sampler keys contain slashes ("sampling/picked").
func key(path ...string) getter {
	return func(m map[string]any) (float64, bool) { return lookup(m, path...) }
}

// firstOf returns the value of the first getter that finds one; it lets a
// plot follow a metric across renames.
func firstOf(gs ...getter) getter {
	return func(m map[string]any) (float64, bool) {
		for _, g := range gs {
			if v, ok := g(m); ok {
				return v, true
			}
		}
		return 0, false
	}
}

// ratio returns num/den, absent when either is absent or den is 0.
func ratio(num, den getter) getter {
	return func(m map[string]any) (float64, bool) {
		a, ok1 := num(m)
		b, ok2 := den(m)
		if !ok1 || !ok2 || b == 0 {
			return 0, false
		}
		return a / b, true
	}
}

// evalPoint is one row of eval.jsonl reduced to what the report uses.
type evalPoint struct {
	step        float64
	split, mode string
	acc, stderr float64
}

// label names the series an eval row belongs to, e.g. "test/trace".
func (e evalPoint) label() string {
	switch {
	case e.split == "":
		return e.mode
	case e.mode == "":
		return e.split
	}
	return e.split + "/" + e.mode
}

// runData is a run directory read into memory: metrics rows sorted by step
// (one per step) and eval rows in file order.
type runData struct {
	metrics  []row
	steps    []float64 // steps[i] is the step of metrics[i]
	eval     []evalPoint
	evalNote string // why there is no held-out data; "" when there is
}

// loadRun reads dir's metrics.jsonl (required) and eval.jsonl (optional).
func loadRun(dir string) (*runData, error) {
	mpath := filepath.Join(dir, MetricsFile)
	rows, err := readJSONL(mpath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s does not exist", ErrNoMetrics, mpath)
	}
	if err != nil {
		return nil, err
	}
	d := &runData{}
	if err := d.setMetrics(mpath, rows); err != nil {
		return nil, err
	}
	if len(d.metrics) == 0 {
		return nil, fmt.Errorf("%w: %s has no rows", ErrNoMetrics, mpath)
	}
	epath := filepath.Join(dir, EvalFile)
	erows, err := readJSONL(epath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		d.evalNote = EvalFile + " not found"
		return d, nil
	case err != nil:
		return nil, err
	}
	if err := d.setEval(epath, erows); err != nil {
		return nil, err
	}
	if len(d.eval) == 0 {
		d.evalNote = EvalFile + " has no rows"
	}
	return d, nil
}

// setMetrics orders rows by step. A step logged twice (a resumed run whose
// log was not truncated) keeps its last occurrence, the one the resumed run
// wrote. A row without "step" takes its 1-based position among the rows.
func (d *runData) setMetrics(name string, rows []row) error {
	byStep := map[float64]int{}
	for i, r := range rows {
		s, err := stepOf(name, r, float64(i+1))
		if err != nil {
			return err
		}
		if j, dup := byStep[s]; dup {
			d.metrics[j] = r
			continue
		}
		byStep[s] = len(d.metrics)
		d.metrics = append(d.metrics, r)
		d.steps = append(d.steps, s)
	}
	idx := make([]int, len(d.metrics))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return d.steps[idx[a]] < d.steps[idx[b]] })
	ms, ss := make([]row, len(idx)), make([]float64, len(idx))
	for i, j := range idx {
		ms[i], ss[i] = d.metrics[j], d.steps[j]
	}
	d.metrics, d.steps = ms, ss
	return nil
}

// setEval validates eval rows: "step" and "accuracy" must be numbers,
// "split" and "mode" strings when present; "stderr" is optional.
func (d *runData) setEval(name string, rows []row) error {
	for _, r := range rows {
		bad := func(field string) error {
			return fmt.Errorf("%w: %s line %d field %q: %v", ErrMalformed, name, r.line, field, r.fields[field])
		}
		var e evalPoint
		var ok bool
		if e.step, ok = lookup(r.fields, "step"); !ok {
			return bad("step")
		}
		if e.acc, ok = lookup(r.fields, "accuracy"); !ok {
			return bad("accuracy")
		}
		if e.split, ok = lookupString(r.fields, "split"); !ok {
			return bad("split")
		}
		if e.mode, ok = lookupString(r.fields, "mode"); !ok {
			return bad("mode")
		}
		e.stderr, _ = lookup(r.fields, "stderr")
		d.eval = append(d.eval, e)
	}
	return nil
}

// series returns the (step, value) pairs where g finds a value.
func (d *runData) series(g getter) (xs, ys []float64) {
	for i, r := range d.metrics {
		if v, ok := g(r.fields); ok {
			xs = append(xs, d.steps[i])
			ys = append(ys, v)
		}
	}
	return xs, ys
}

// subkeys returns the sorted union of the keys of the object at key over
// all metrics rows whose value there is a number (e.g. reward part names).
func (d *runData) subkeys(key string) []string {
	seen := map[string]bool{}
	for _, r := range d.metrics {
		m, _ := r.fields[key].(map[string]any)
		for k := range m {
			if _, ok := lookup(m, k); ok {
				seen[k] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// evalGroups returns the eval rows grouped by label, labels sorted, each
// group ordered by step; a step evaluated twice keeps its last row.
func (d *runData) evalGroups() (labels []string, groups map[string][]evalPoint) {
	groups = map[string][]evalPoint{}
	for _, e := range d.eval {
		g := groups[e.label()]
		if i := sort.Search(len(g), func(i int) bool { return g[i].step >= e.step }); i < len(g) && g[i].step == e.step {
			g[i] = e
		} else {
			g = append(g, evalPoint{})
			copy(g[i+1:], g[i:])
			g[i] = e
		}
		groups[e.label()] = g
	}
	for l := range groups {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	return labels, groups
}
