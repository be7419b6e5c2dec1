package sampling

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
)

// fullVAS is a VAS in refresh: full mode refreshing every `every` steps.
func fullVAS(t testing.TB, n int, every int64, mutate func(*VASConfig)) *VAS {
	t.Helper()
	return newTestVAS(t, 5, func(c *VASConfig) {
		c.Refresh, c.RefreshEvery = RefreshFull, every
		if mutate != nil {
			mutate(c)
		}
	}, n)
}

// effective returns the sampling weight of each prompt (max(W, w_min), or
// the mean for prompts without a weight).
func effective(v *VAS) []float64 {
	cum := v.cumulative(nil)
	out := make([]float64, len(cum))
	for i := range cum {
		out[i] = cum[i]
		if i > 0 {
			out[i] -= cum[i-1]
		}
	}
	return out
}

// scores is the part of a prompt's statistics that only refreshes may set
// in refresh: full mode.
type scores struct {
	Pass, OVS, TDS, VPS, Weight float64
	History                     int
}

func snapshot(v *VAS) []scores {
	out := make([]scores, len(v.stats))
	for i, st := range v.stats {
		out[i] = scores{st.PassRate, st.OVS, st.TDS, st.VPS, st.Weight, len(st.PassRateHistory)}
	}
	return out
}

func TestRefreshGoldenVPSAndWeights(t *testing.T) {
	g := loadGolden(t)
	cases := []struct {
		name       string
		mu         float64
		wOld, want []float64
	}{{"the first refresh sets the min-max weights of §2.4", 0, nil, g.VPS.MinMax}}
	for _, e := range g.VPS.EMA {
		cases = append(cases, struct {
			name       string
			mu         float64
			wOld, want []float64
		}{fmt.Sprintf("a later refresh with EMA mu %v blends with the old weights", e.Mu), e.Mu, g.VPS.WOld, e.Want})
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := fullVAS(t, len(g.VPS.PassRate), 4, func(cfg *VASConfig) {
				cfg.Alpha, cfg.Beta, cfg.EMA, cfg.WMin = g.VPS.Alpha, g.VPS.Beta, c.mu, 0.01
			})
			// Each completion carries its prompt's index, which selects the §2.4 TDS.
			v.tds = func(seqs [][]int32) float64 { return g.VPS.TDS[seqs[0][0]] }
			for i := range c.wOld {
				v.stats[i].Weight, v.stats[i].HasWeight = c.wOld[i], true
			}
			before := effective(v)
			groups := make([]GroupOutcome, len(g.VPS.PassRate))
			for i, p := range g.VPS.PassRate {
				groups[i] = GroupOutcome{PromptID: v.pool.ids[i]}
				for j := 0; j < 8; j++ {
					groups[i].Correct = append(groups[i].Correct, float64(j) < p*8)
					groups[i].Completions = append(groups[i].Completions, []int32{int32(i)})
				}
			}
			chunk := v.RefreshChunk(4, 3)
			if done, err := v.ObserveRefresh(4, chunk, groups[:3]); err != nil || done {
				t.Fatalf("first chunk %v: complete %v, %v", chunk, done, err)
			}
			if got := effective(v); !reflect.DeepEqual(got, before) {
				t.Fatalf("weights moved before the refresh completed: %v, were %v", got, before)
			}
			chunk = v.RefreshChunk(4, 3)
			if done, err := v.ObserveRefresh(4, chunk, groups[3:]); err != nil || !done {
				t.Fatalf("last chunk %v: complete %v, %v", chunk, done, err)
			}
			eff := effective(v)
			for i := range c.want {
				if got := v.stats[i].VPS; !approx(got, g.VPS.Raw[i]) {
					t.Errorf("VPS[%d] = %v, want %v", i, got, g.VPS.Raw[i])
				}
				if got := v.stats[i].Weight; !approx(got, c.want[i]) {
					t.Errorf("weight[%d] = %.10f, want %.10f", i, got, c.want[i])
				}
				if want := max(c.want[i], 0.01); !approx(eff[i], want) {
					t.Errorf("sampling weight[%d] = %.10f, want %.10f (floored at w_min)", i, eff[i], want)
				}
			}
			if v.NeedsRefresh(4) || v.RefreshChunk(4, 3) != nil {
				t.Error("a complete refresh is still due")
			}
		})
	}
}

func TestRefreshSchedule(t *testing.T) {
	v := fullVAS(t, 4, 10, nil)
	due := []struct {
		step int64
		want bool
	}{{0, true}, {5, false}, {10, true}, {20, true}, {25, false}}
	for _, d := range due {
		if got := v.NeedsRefresh(d.step); got != d.want {
			t.Errorf("NeedsRefresh(%d) = %v before any refresh, want %v", d.step, got, d.want)
		}
	}
	if v.RefreshChunk(5, 3) != nil {
		t.Error("RefreshChunk at a step without a refresh returned a chunk")
	}
	newWorld(4, 4).refresh(t, v, 0, 3)
	if v.NeedsRefresh(0) || !v.NeedsRefresh(10) {
		t.Errorf("after the step-0 refresh: NeedsRefresh(0) = %v, NeedsRefresh(10) = %v", v.NeedsRefresh(0), v.NeedsRefresh(10))
	}
	s := v.Stats().Refresh
	if s == nil || s.Step != 0 || s.Count != 1 || s.Prompts != 4 || s.Samples != 32 || s.Missing != 0 {
		t.Errorf("Stats().Refresh = %+v, want step 0, count 1, 4 prompts, 32 samples", s)
	}

	inc := newTestVAS(t, 1, nil, 4)
	if inc.NeedsRefresh(0) || inc.RefreshChunk(0, 3) != nil || inc.Stats().Refresh != nil {
		t.Error("an incremental sampler asks for a refresh")
	}
	if _, err := inc.ObserveRefresh(0, []int{0}, nil); !errors.Is(err, ErrRefresh) {
		t.Errorf("ObserveRefresh in incremental mode = %v, want ErrRefresh", err)
	}
}

func TestRefreshAloneMovesStatisticsAndWeights(t *testing.T) {
	w := newWorld(8, 4)
	v := fullVAS(t, 8, 10, nil)
	w.refresh(t, v, 0, 3)
	before, weights := snapshot(v), effective(v)
	for step := int64(0); step < 11; step++ { // step 10 without its refresh: Next must not re-weight
		picks, err := v.Next(step, 4)
		if err != nil {
			t.Fatal(err)
		}
		if err := v.Observe(step, w.outcomes(step, picks)); err != nil {
			t.Fatal(err)
		}
		if _, err := v.Next(step, 2); err != nil { // a DAPO refill round after the training groups
			t.Fatal(err)
		}
	}
	if got := snapshot(v); !reflect.DeepEqual(got, before) {
		t.Errorf("training groups moved the refresh statistics:\n got %v\nwant %v", got, before)
	}
	if got := effective(v); !reflect.DeepEqual(got, weights) {
		t.Errorf("training groups moved the weights: %v, were %v", got, weights)
	}
	groups, rewards := int64(0), int64(0)
	for _, st := range v.stats {
		groups, rewards = groups+st.TimesSeen, rewards+st.RewardCount
	}
	if groups != 8+11*4 || rewards != 11*4*4 { // refresh groups carry no rewards
		t.Errorf("%d groups and %d rewards counted, want 8 + 44 groups and 176 training rewards", groups, rewards)
	}
	w.refresh(t, v, 10, 3)
	if got := effective(v); reflect.DeepEqual(got, weights) {
		t.Error("the step-10 refresh left every weight as it was")
	}
	if got := len(v.stats[0].PassRateHistory); got != 2 {
		t.Errorf("pass-rate history has %d entries after two refreshes, want 2", got)
	}
}

func TestRefreshPromptsWithoutRollouts(t *testing.T) {
	w := newWorld(4, 4)
	t.Run("a prompt missing from a refresh keeps its statistics and is counted", func(t *testing.T) {
		v := fullVAS(t, 4, 2, nil)
		w.refresh(t, v, 0, 3)
		kept := snapshot(v)[1]
		chunk := v.RefreshChunk(2, 4)
		groups := []GroupOutcome{w.group(rng.NewStream(1), 0, 8), w.group(rng.NewStream(2), 2, 8), w.group(rng.NewStream(3), 3, 8)}
		if done, err := v.ObserveRefresh(2, chunk, groups); err != nil || !done {
			t.Fatalf("complete %v, %v", done, err)
		}
		got := snapshot(v)[1]
		got.Weight, kept.Weight = 0, 0 // re-weighted from its kept VPS with the others
		if got != kept {
			t.Errorf("prompt 1 statistics %+v, want %+v kept", got, kept)
		}
		// truth: prompt 0 passes half the time, 2 never, 3 always.
		want := RefreshStats{Step: 2, Count: 2, Prompts: 3, Missing: 1, Samples: 24,
			MeanPass: (v.stats[0].PassRate + 0 + 1) / 3, Learnable: 1.0 / 3}
		if v.stats[0].PassRate == 0 || v.stats[0].PassRate == 1 {
			want.Learnable = 0
		}
		if got := v.Stats().Refresh; got == nil || *got != want {
			t.Errorf("Stats().Refresh = %+v, want %+v", got, want)
		}
	})
	t.Run("a prompt no refresh covered takes its first training group as statistics", func(t *testing.T) {
		v := fullVAS(t, 4, 2, nil)
		chunk := v.RefreshChunk(0, 4)
		if _, err := v.ObserveRefresh(0, chunk, w.outcomes(0, []int{0, 2, 3})); err != nil {
			t.Fatal(err)
		}
		refreshed := snapshot(v)[0]
		if err := v.Observe(0, w.outcomes(1, []int{0, 1})); err != nil {
			t.Fatal(err)
		}
		if got := snapshot(v)[0]; got != refreshed {
			t.Errorf("a training group moved refreshed prompt 0: %+v, was %+v", got, refreshed)
		}
		if st := v.stats[1]; st.TimesSeen != 1 || len(st.PassRateHistory) != 1 || st.OVS != OVS(st.PassRate) {
			t.Errorf("unrefreshed prompt 1 after a training group: %+v", st)
		}
	})
}

func TestRefreshResumesAfterAnyChunk(t *testing.T) {
	mem := checkedMem(t)
	w := newWorld(10, 4)
	whole := fullVAS(t, 10, 5, func(c *VASConfig) { c.EMA = 0.5 })
	want := w.run(t, whole, 0, 9, 4)
	var wantState bytes.Buffer
	if err := whole.SaveState(&wantState, mem); err != nil {
		t.Fatal(err)
	}
	for cut := 1; cut <= 3; cut++ { // the step-5 refresh has 4 chunks of 3
		t.Run(fmt.Sprintf("stopped after chunk %d of the step-5 refresh", cut), func(t *testing.T) {
			first := fullVAS(t, 10, 5, func(c *VASConfig) { c.EMA = 0.5 })
			got := w.run(t, first, 0, 5, 4)
			w.refreshChunks(t, first, 5, 3, cut)
			var buf bytes.Buffer
			if err := first.SaveState(&buf, mem); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(buf.String(), fmt.Sprintf(`"done":%d`, 3*cut)) {
				t.Fatalf("saved state lacks the refresh progress (%d prompts done)", 3*cut)
			}
			resumed := fullVAS(t, 10, 5, func(c *VASConfig) { c.EMA = 0.5 })
			if err := resumed.LoadState(&buf, mem); err != nil {
				t.Fatal(err)
			}
			if !resumed.NeedsRefresh(5) {
				t.Fatal("the resumed sampler forgot the unfinished refresh")
			}
			if chunk := resumed.RefreshChunk(5, 3); len(chunk) == 0 || chunk[0] != 3*cut {
				t.Fatalf("resumed refresh continues at %v, want pool index %d", chunk, 3*cut)
			}
			got = append(got, w.run(t, resumed, 5, 9, 4)...)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("picks differ:\n got %v\nwant %v", got, want)
			}
			var state bytes.Buffer
			if err := resumed.SaveState(&state, mem); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(state.Bytes(), wantState.Bytes()) {
				t.Error("final states differ")
			}
		})
	}
}

func TestRefreshRejectsOutOfOrderCalls(t *testing.T) {
	mem := checkedMem(t)
	w := newWorld(6, 4)
	v := fullVAS(t, 6, 3, nil)
	first := v.RefreshChunk(0, 3)
	if _, err := v.ObserveRefresh(0, first, w.outcomes(0, first)); err != nil {
		t.Fatal(err)
	}
	var before bytes.Buffer
	if err := v.SaveState(&before, mem); err != nil {
		t.Fatal(err)
	}
	next := v.RefreshChunk(0, 3)
	cases := []struct {
		name   string
		step   int64
		chunk  []int
		groups []GroupOutcome
		want   error
	}{
		{"another step is refused", 3, next, w.outcomes(3, next), ErrRefresh},
		{"a chunk already applied is refused", 0, first, w.outcomes(0, first), ErrRefresh},
		{"a chunk with a gap is refused", 0, []int{3, 5}, w.outcomes(0, []int{3, 5}), ErrRefresh},
		{"an empty chunk is refused", 0, nil, nil, ErrRefresh},
		{"a group outside the chunk is refused", 0, next, w.outcomes(0, []int{3, 1}), ErrOutcome},
		{"an unknown prompt is refused", 0, next, []GroupOutcome{{PromptID: 42, Correct: []bool{true}}}, ErrUnknownPrompt},
		{"a group without samples is refused", 0, next, []GroupOutcome{{PromptID: w.ids[3]}}, ErrOutcome},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := v.ObserveRefresh(c.step, c.chunk, c.groups); !errors.Is(err, c.want) {
				t.Fatalf("ObserveRefresh = %v, want %v", err, c.want)
			}
			var after bytes.Buffer
			if err := v.SaveState(&after, mem); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after.Bytes(), before.Bytes()) {
				t.Error("a refused call changed the sampler")
			}
		})
	}
}

func TestRefreshState(t *testing.T) {
	mem := checkedMem(t)
	w := newWorld(5, 4)
	t.Run("incremental state carries no refresh", func(t *testing.T) {
		v := newTestVAS(t, 5, nil, 5)
		w.run(t, v, 0, 2, 3)
		var buf bytes.Buffer
		if err := v.SaveState(&buf, mem); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), `"refresh"`) {
			t.Error("an incremental sampler saved refresh progress")
		}
	})
	t.Run("full-refresh state is refused by an incremental sampler", func(t *testing.T) {
		v := fullVAS(t, 5, 2, nil)
		w.run(t, v, 0, 1, 3)
		var buf bytes.Buffer
		if err := v.SaveState(&buf, mem); err != nil {
			t.Fatal(err)
		}
		if err := newTestVAS(t, 5, nil, 5).LoadState(&buf, mem); !errors.Is(err, ErrState) {
			t.Errorf("LoadState = %v, want ErrState", err)
		}
	})
	bad := []refreshState{
		{Step: -1},
		{Done: 6},
		{Done: 5},
		{Done: 4, Complete: true},
		{Done: 2, Missing: 2, Learnable: 1},
		{Count: -1},
	}
	for _, r := range bad {
		if err := r.check(true, 5); !errors.Is(err, ErrState) {
			t.Errorf("check(%+v) = %v, want ErrState", r, err)
		}
	}
}
