package report

import (
	"errors"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// checkPNG asserts that dir/name decodes as a PNG of a figure with panels
// panels: 768 pixels wide and 384 per panel at 96 dpi.
func checkPNG(t *testing.T, dir, name string, panels int) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if got, want := img.Bounds().Dx(), 768; got != want {
		t.Errorf("%s: width %d, want %d", name, got, want)
	}
	if got, want := img.Bounds().Dy(), 384*panels; got != want {
		t.Errorf("%s: height %d, want %d", name, got, want)
	}
}

// wantSummary recomputes the summary numbers from the generated rows.
func wantSummary(t *testing.T, r synthRun) Summary {
	var w Summary
	w.Steps = len(r.metrics)
	w.FirstStep, w.LastStep = 1, int64(len(r.metrics))
	w.Reward.N, w.Accuracy.N = len(r.metrics), len(r.metrics)
	w.Reward.Best, w.Accuracy.Best = math.Inf(-1), math.Inf(-1)
	busy := map[string]float64{}
	for i, m := range r.metrics {
		s := int64(i + 1)
		for _, p := range []struct {
			st  *Stat
			key string
		}{{&w.Reward, "reward_mean"}, {&w.Accuracy, "accuracy"}} {
			v := num(t, m, p.key)
			if i == 0 {
				p.st.First, p.st.FirstStep = v, s
			}
			p.st.Last, p.st.LastStep = v, s
			if v > p.st.Best {
				p.st.Best, p.st.BestStep = v, s
			}
		}
		w.DroppedGroups += int64(num(t, m, "dropped_groups"))
		w.FilteredGroups += int64(num(t, m, "filtered_groups"))
		w.RewardErrors += int64(num(t, m, "reward_errors"))
		for _, st := range []string{"rollout", "reward", "learner"} {
			busy[st] += num(t, m, "timing", st+"_busy_s") / float64(len(r.metrics))
		}
		w.TokensPerSec += num(t, m, "timing", "tokens_per_s") / float64(len(r.metrics))
	}
	w.TokensPerSecSteps = len(r.metrics)
	for _, st := range []string{"rollout", "reward", "learner"} {
		w.Stages = append(w.Stages, StageBusy{Name: st, MeanBusyS: busy[st], Steps: len(r.metrics)})
		if w.Bottleneck == "" || busy[st] > busy[w.Bottleneck] {
			w.Bottleneck = st
		}
	}
	byMode := map[string][]map[string]any{}
	for _, e := range r.eval {
		byMode[e["mode"].(string)] = append(byMode[e["mode"].(string)], e)
	}
	modes := make([]string, 0, len(byMode))
	for m := range byMode {
		modes = append(modes, m)
	}
	sort.Strings(modes)
	for _, m := range modes {
		es := byMode[m]
		a, b := es[0], es[len(es)-1]
		w.Eval = append(w.Eval, EvalChange{Split: "test", Mode: m, Evals: len(es),
			FirstStep: int64(num(t, a, "step")), LastStep: int64(num(t, b, "step")),
			First: num(t, a, "accuracy"), FirstStderr: num(t, a, "stderr"),
			Last: num(t, b, "accuracy"), LastStderr: num(t, b, "stderr"),
			Diff:       num(t, b, "accuracy") - num(t, a, "accuracy"),
			DiffStderr: math.Sqrt(num(t, a, "stderr")*num(t, a, "stderr") + num(t, b, "stderr")*num(t, b, "stderr")),
		})
	}
	return w
}

func compareStat(t *testing.T, name string, got, want Stat) {
	t.Helper()
	if got.N != want.N || got.FirstStep != want.FirstStep || got.LastStep != want.LastStep || got.BestStep != want.BestStep ||
		!near(got.First, want.First) || !near(got.Last, want.Last) || !near(got.Best, want.Best) {
		t.Errorf("%s: got %+v, want %+v", name, got, want)
	}
}

func compareSummary(t *testing.T, got *Summary, want Summary) {
	t.Helper()
	if got.Steps != want.Steps || got.FirstStep != want.FirstStep || got.LastStep != want.LastStep {
		t.Errorf("steps: got %d (%d..%d), want %d (%d..%d)", got.Steps, got.FirstStep, got.LastStep, want.Steps, want.FirstStep, want.LastStep)
	}
	compareStat(t, "reward", got.Reward, want.Reward)
	compareStat(t, "accuracy", got.Accuracy, want.Accuracy)
	if got.DroppedGroups != want.DroppedGroups || got.FilteredGroups != want.FilteredGroups || got.RewardErrors != want.RewardErrors {
		t.Errorf("totals: got %d/%d/%d, want %d/%d/%d", got.DroppedGroups, got.FilteredGroups, got.RewardErrors,
			want.DroppedGroups, want.FilteredGroups, want.RewardErrors)
	}
	if len(got.Stages) != len(want.Stages) || got.Bottleneck != want.Bottleneck {
		t.Fatalf("stages: got %+v %q, want %+v %q", got.Stages, got.Bottleneck, want.Stages, want.Bottleneck)
	}
	for i := range want.Stages {
		g, w := got.Stages[i], want.Stages[i]
		if g.Name != w.Name || g.Steps != w.Steps || !near(g.MeanBusyS, w.MeanBusyS) {
			t.Errorf("stage %d: got %+v, want %+v", i, g, w)
		}
	}
	if got.TokensPerSecSteps != want.TokensPerSecSteps || !near(got.TokensPerSec, want.TokensPerSec) {
		t.Errorf("tokens/s: got %v over %d, want %v over %d", got.TokensPerSec, got.TokensPerSecSteps, want.TokensPerSec, want.TokensPerSecSteps)
	}
	if len(got.Eval) != len(want.Eval) {
		t.Fatalf("eval: got %+v, want %+v", got.Eval, want.Eval)
	}
	for i := range want.Eval {
		g, w := got.Eval[i], want.Eval[i]
		if g.Split != w.Split || g.Mode != w.Mode || g.Evals != w.Evals || g.FirstStep != w.FirstStep || g.LastStep != w.LastStep ||
			!near(g.First, w.First) || !near(g.FirstStderr, w.FirstStderr) || !near(g.Last, w.Last) ||
			!near(g.LastStderr, w.LastStderr) || !near(g.Diff, w.Diff) || !near(g.DiffStderr, w.DiffStderr) {
			t.Errorf("eval %d: got %+v, want %+v", i, g, w)
		}
	}
}

// fullPanels is the panel count of every figure when all metrics are logged.
var fullPanels = map[string]int{
	"reward.png": 2, "accuracy.png": 1, "kl.png": 1, "loss.png": 2, "length.png": 2,
	"clip.png": 2, "optim.png": 2, "groups.png": 2, "stages.png": 2, "sampler.png": 2,
}

func TestGenerate(t *testing.T) {
	tests := []struct {
		name      string
		evalEvery int
		evalFile  bool // write eval.jsonl (empty when evalEvery is 0)
		wantNote  string
		all       bool // render every figure, not only accuracy.png (slow under -race)
	}{
		{"a run with held-out evaluations gets every plot and an eval summary", 10, true, "", true},
		{"a run without eval.jsonl says so and still plots train accuracy", 0, false, "eval.jsonl not found", false},
		{"a run with an empty eval.jsonl says so", 0, true, "eval.jsonl has no rows", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			run := makeRun(7, 45, tt.evalEvery)
			writeJSONL(t, dir, MetricsFile, run.metrics)
			if tt.evalFile {
				writeJSONL(t, dir, EvalFile, run.eval)
			}
			var s *Summary
			var err error
			wantPlots := FigureFiles()
			if tt.all {
				s, err = Generate(dir, "")
			} else {
				i := slices.Index(wantPlots, "accuracy.png")
				s, err = generate(dir, "", figures[i:i+1])
				wantPlots = wantPlots[i : i+1]
			}
			if err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "report")
			if s.OutDir != out || s.Dir != dir {
				t.Errorf("dirs: got %q %q", s.Dir, s.OutDir)
			}
			if !slices.Equal(s.Plots, wantPlots) || len(s.Skipped) != 0 {
				t.Errorf("plots %v, skipped %v; want %v", s.Plots, s.Skipped, wantPlots)
			}
			if len(fullPanels) != len(FigureFiles()) {
				t.Errorf("test knows %d figures, package has %v", len(fullPanels), FigureFiles())
			}
			for _, name := range wantPlots {
				checkPNG(t, out, name, fullPanels[name])
			}
			compareSummary(t, s, wantSummary(t, run))
			if s.EvalNote != tt.wantNote {
				t.Errorf("eval note %q, want %q", s.EvalNote, tt.wantNote)
			}
			txt, err := os.ReadFile(filepath.Join(out, SummaryFile))
			if err != nil {
				t.Fatal(err)
			}
			if string(txt) != s.String() {
				t.Errorf("summary.txt differs from String():\n%s\nvs\n%s", txt, s.String())
			}
			if hasEval := !strings.Contains(string(txt), "no evaluations"); hasEval != (tt.wantNote == "") {
				t.Errorf("summary.txt does not match eval presence:\n%s", txt)
			}
		})
	}
}

func TestGenerateSkipsFiguresWithoutData(t *testing.T) {
	dir, out := t.TempDir(), t.TempDir()
	rows := []map[string]any{
		{"step": 1, "reward_mean": 0.5, "grad_norm": 1.0},
		{"step": 2, "reward_mean": 0.25, "grad_norm": "not a number"},
		{"step": 3, "reward_mean": 0.75},
	}
	writeJSONL(t, dir, MetricsFile, rows)
	s, err := Generate(dir, out)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"reward.png", "optim.png"}; !slices.Equal(s.Plots, want) {
		t.Errorf("plots %v, want %v", s.Plots, want)
	}
	checkPNG(t, out, "reward.png", 1)
	checkPNG(t, out, "optim.png", 1)
	for _, f := range s.Skipped {
		if _, err := os.Stat(filepath.Join(out, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("skipped %s exists (err %v)", f, err)
		}
	}
	compareStat(t, "reward", s.Reward, Stat{N: 3, First: 0.5, Last: 0.75, Best: 0.75, FirstStep: 1, LastStep: 3, BestStep: 3})
	if s.Accuracy.N != 0 || len(s.Stages) != 0 || s.Bottleneck != "" || s.TokensPerSecSteps != 0 {
		t.Errorf("absent series reported: %+v", s)
	}
	for _, want := range []string{"train accuracy: not logged", "stage busy time: not logged", "tokens/s: not logged"} {
		if !strings.Contains(s.String(), want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
}

func TestGenerateOrdersStepsAndKeepsLastDuplicate(t *testing.T) {
	dir := t.TempDir()
	writeJSONL(t, dir, MetricsFile, []map[string]any{
		{"step": 2, "reward_mean": 0.2},
		{"step": 1, "reward_mean": 0.1},
		{"step": 3, "reward_mean": 0.3},
		{"step": 2, "reward_mean": 0.9}, // a resumed run re-logged step 2
	})
	writeJSONL(t, dir, EvalFile, []map[string]any{
		{"step": 3, "mode": "trace", "accuracy": 0.5, "stderr": 0.1},
		{"step": 0, "mode": "trace", "accuracy": 0.2, "stderr": 0.1},
		{"step": 3, "mode": "trace", "accuracy": 0.6, "stderr": 0.1},
	})
	s, err := Generate(dir, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	compareStat(t, "reward", s.Reward, Stat{N: 3, First: 0.1, Last: 0.3, Best: 0.9, FirstStep: 1, LastStep: 3, BestStep: 2})
	if len(s.Eval) != 1 || s.Eval[0].Evals != 2 || s.Eval[0].First != 0.2 || s.Eval[0].Last != 0.6 || !near(s.Eval[0].Diff, 0.4) {
		t.Errorf("eval: %+v", s.Eval)
	}
}

func TestGenerateRejectsBadInput(t *testing.T) {
	good := `{"step":1,"reward_mean":0.5}` + "\n"
	tests := []struct {
		name            string
		metrics, eval   string
		noMetrics       bool
		wantIs          error
		wantFile, wantS string
	}{
		{"a truncated metrics line names file and line", good + good + `{"step":3,"rew` + "\n", "", false, ErrMalformed, MetricsFile, "line 3"},
		{"a metrics line that is an array is malformed", good + "[1,2]\n", "", false, ErrMalformed, MetricsFile, "line 2"},
		{"a null metrics line is malformed", "\n" + "null\n", "", false, ErrMalformed, MetricsFile, "line 2"},
		{"a non-numeric step is malformed", `{"step":"one"}` + "\n", "", false, ErrMalformed, MetricsFile, `line 1 field "step"`},
		{"a bad eval line names eval.jsonl", good, `{"step":0,"accuracy":0.5}` + "\n" + `{"step":1,` + "\n", false, ErrMalformed, EvalFile, "line 2"},
		{"an eval row without accuracy is malformed", good, `{"step":0,"mode":"trace"}` + "\n", false, ErrMalformed, EvalFile, `line 1 field "accuracy"`},
		{"an eval mode that is not a string is malformed", good, `{"step":0,"accuracy":1,"mode":3}` + "\n", false, ErrMalformed, EvalFile, `line 1 field "mode"`},
		{"an empty metrics file has nothing to report", "\n\n", "", false, ErrNoMetrics, MetricsFile, "no rows"},
		{"a missing metrics file has nothing to report", "", "", true, ErrNoMetrics, MetricsFile, "does not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if !tt.noMetrics {
				if err := os.WriteFile(filepath.Join(dir, MetricsFile), []byte(tt.metrics), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if tt.eval != "" {
				if err := os.WriteFile(filepath.Join(dir, EvalFile), []byte(tt.eval), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Generate(dir, "")
			if !errors.Is(err, tt.wantIs) {
				t.Fatalf("err %v, want %v", err, tt.wantIs)
			}
			if msg := err.Error(); !strings.Contains(msg, filepath.Join(dir, tt.wantFile)) || !strings.Contains(msg, tt.wantS) {
				t.Errorf("err %q does not name %s and %q", msg, tt.wantFile, tt.wantS)
			}
		})
	}
}

func TestSamplerGetters(t *testing.T) {
	tests := []struct {
		name    string
		sampler map[string]any
		vps, ws float64
		ok      bool
	}{
		{"metrics keys from sampling.Stats.Metrics are read", map[string]any{"sampling/mean_vps_picked": 0.3, "sampling/weighted_share": 0.25}, 0.3, 0.25, true},
		{"struct field names are read and the share is derived", map[string]any{"MeanVPSPicked": 0.4, "PickedWeighted": 3.0, "Picked": 12.0}, 0.4, 0.25, true},
		{"no picks yet leaves the share absent", map[string]any{"MeanVPSPicked": 0.0, "PickedWeighted": 0.0, "Picked": 0.0}, 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := map[string]any{"sampler": tt.sampler}
			if v, ok := samplerVPS(m); !ok || v != tt.vps {
				t.Errorf("vps %v %v, want %v", v, ok, tt.vps)
			}
			if v, ok := samplerWS(m); ok != tt.ok || v != tt.ws {
				t.Errorf("weighted share %v %v, want %v %v", v, ok, tt.ws, tt.ok)
			}
		})
	}
}

// FuzzParseJSONL checks that any input either parses into objects or fails
// with ErrMalformed, and never panics.
func FuzzParseJSONL(f *testing.F) {
	f.Add([]byte(`{"step":1,"reward_mean":0.5,"sampler":{"a/b":1}}` + "\n"))
	f.Add([]byte("null\n{}\n[]\n"))
	f.Add([]byte(`{"step":1e400}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		rows, err := parseJSONL("fuzz.jsonl", raw)
		if err != nil {
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "fuzz.jsonl line ") {
				t.Fatalf("unlocated error %v", err)
			}
			return
		}
		d := &runData{}
		if err := d.setMetrics("fuzz.jsonl", rows); err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		for i := 1; i < len(d.steps); i++ {
			if d.steps[i-1] >= d.steps[i] {
				t.Fatalf("steps not strictly increasing: %v", d.steps)
			}
		}
	})
}
