package sampling

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
)

// approx reports |got − want| ≤ atol + rtol·|want| with the house tolerance.
func approx(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-6*math.Abs(want)
}

func testIDs(n int) []uint64 {
	ids := make([]uint64, n)
	for i := range ids {
		ids[i] = rng.Finalize(uint64(i) + 12345) // arbitrary, distinct, not 0..n−1
	}
	return ids
}

// world is a deterministic fake environment: prompt i has a true pass rate
// truth[i]; high-variance prompts answer with diverse tokens, the others
// repeat one completion.
type world struct {
	ids   []uint64
	truth []float64
	g     int
}

func newWorld(n, g int) *world {
	w := &world{ids: testIDs(n), truth: make([]float64, n), g: g}
	for i := range w.truth {
		switch i % 4 {
		case 0, 1:
			w.truth[i] = 0.5
		case 2:
			w.truth[i] = 0
		default:
			w.truth[i] = 1
		}
	}
	return w
}

func (w *world) outcomes(step int64, picks []int) []GroupOutcome {
	groups := make([]GroupOutcome, len(picks))
	for k, i := range picks {
		groups[k] = w.group(rng.NewStream(rng.Key(999, uint64(step), uint64(k), uint64(i))), i, w.g)
	}
	return groups
}

// group draws n samples of prompt i from s.
func (w *world) group(s rng.Stream, i, n int) GroupOutcome {
	g := GroupOutcome{PromptID: w.ids[i]}
	for j := 0; j < n; j++ {
		ok := s.Float64() < w.truth[i]
		g.Correct = append(g.Correct, ok)
		r := 0.0
		if ok {
			r = 1
		}
		g.Rewards = append(g.Rewards, r+0.1*s.Float64())
		toks := []int32{1, 2, 3, 4, 5, 6}
		if w.truth[i] == 0.5 {
			for t := range toks {
				toks[t] = int32(s.Intn(50))
			}
		}
		g.Completions = append(g.Completions, toks)
	}
	return g
}

// refresh runs a due full refresh of step in chunks of n prompts, drawing
// each prompt's RefreshSamples samples from a stream keyed by (step,
// prompt) only, as the pipeline's refresh rollouts are, so that the result
// does not depend on n. Refresh groups carry no rewards.
func (w *world) refresh(t testing.TB, rf Refresher, step int64, n int) {
	t.Helper()
	w.refreshChunks(t, rf, step, n, -1)
}

// refreshChunks is refresh stopped after limit chunks (limit < 0: none).
func (w *world) refreshChunks(t testing.TB, rf Refresher, step int64, n, limit int) {
	t.Helper()
	for chunk := rf.RefreshChunk(step, n); chunk != nil && limit != 0; chunk, limit = rf.RefreshChunk(step, n), limit-1 {
		groups := make([]GroupOutcome, len(chunk))
		for k, i := range chunk {
			groups[k] = w.group(rng.NewStream(rng.Key(777, uint64(step), uint64(i))), i, rf.RefreshSamples())
			groups[k].Rewards = nil
		}
		if _, err := rf.ObserveRefresh(step, chunk, groups); err != nil {
			t.Fatal(err)
		}
	}
}

// run drives s for steps [from, to) with batches of b and returns the picks;
// a sampler in refresh: full mode is refreshed (chunks of 3) when due.
func (w *world) run(t testing.TB, s Sampler, from, to int64, b int) [][]int {
	t.Helper()
	var all [][]int
	for step := from; step < to; step++ {
		if rf, ok := s.(Refresher); ok {
			w.refresh(t, rf, step, 3)
		}
		picks, err := s.Next(step, b)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Observe(step, w.outcomes(step, picks)); err != nil {
			t.Fatal(err)
		}
		all = append(all, picks)
	}
	return all
}
