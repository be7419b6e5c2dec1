package policy

import (
	"context"
	"runtime"
	"runtime/debug"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// TestGenerateIsDeterministicAcrossGOMAXPROCS checks that the decoder's
// split of rows over workers (and sgemm's over goroutines) changes no bit
// of the result: same seed, same tokens and log-probs, whatever the CPUs.
func TestGenerateIsDeterministicAcrossGOMAXPROCS(t *testing.T) {
	for _, positions := range []string{"learned", "rotary"} {
		t.Run(positions, func(t *testing.T) {
			m := genModel(t, positions)
			// Enough rows (and sequences) that every phase runs split.
			reqs := genRequests(append(genPrompts, []int32{1, 90, 91}, []int32{1, 95}), 5)
			p := data.GenParams{Temperature: 1.1, TopP: 0.95, MaxNewTokens: 20}
			var want []data.GenResult
			for _, procs := range []int{1, 2, 3, 5} {
				old := runtime.GOMAXPROCS(procs)
				got, err := m.Generate(context.Background(), 11, reqs, p)
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				if want == nil {
					want = got
					continue
				}
				for i := range got {
					if !equalResult(got[i], want[i], 0) {
						t.Fatalf("GOMAXPROCS=%d request %d: %v, with 1: %v", procs, i, got[i], want[i])
					}
				}
			}
		})
	}
}

// TestGenerateSharesPromptCaches checks that samples of one prompt read
// the prompt's prefilled cache instead of a copy: one prefix per distinct
// prompt.
func TestGenerateSharesPromptCaches(t *testing.T) {
	m := genModel(t, "learned")
	e := newEngine(m)
	reqs := genRequests(genPrompts, 3)
	out := make([]data.GenResult, len(reqs))
	gp := data.GenParams{MaxNewTokens: 4}
	arena := make([]float32, m.chunkCacheSize(e, reqs, gp))
	seqs, groups, rows := m.prepareChunk(e, arena, 1, reqs, gp, out)
	prefixes := map[*seqCache]int{}
	for i, s := range seqs {
		if s.cache.prefix != groups[i].cache || s.cache.base != len(reqs[i].PromptTokens) {
			t.Fatalf("request %d: prefix %p base %d, want its group's %p at %d", i, s.cache.prefix, s.cache.base, groups[i].cache, len(reqs[i].PromptTokens))
		}
		prefixes[s.cache.prefix]++
	}
	want := 0
	for _, p := range genPrompts {
		want += len(p)
	}
	if len(prefixes) != len(genPrompts) || len(rows) != want {
		t.Fatalf("%d prefixes and %d prefill rows, want %d and %d", len(prefixes), len(rows), len(genPrompts), want)
	}
}

// TestGenerateAllocatesNothingPerToken checks the steady state of decoding
// allocates nothing: a Generate call allocates as much for 40 new tokens
// as for 10 (caches, results and random streams are per call), on one CPU
// and on two, where the decoder's parts run their own matrix products.
func TestGenerateAllocatesNothingPerToken(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	m, err := NewModel(Config{Layers: 2, DModel: 32, Heads: 4, DFF: 64, Context: 64, Causal: true, InitSeed: 3})
	if err != nil {
		t.Fatal(err)
	}
	reqs := genRequests(genPrompts, 4)
	// No collections: one would empty the arena pool and count a fresh
	// arena against whichever run it fell in.
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	for _, procs := range []int{1, 2} {
		old := runtime.GOMAXPROCS(procs)
		allocs := func(n int) float64 {
			p := data.GenParams{Temperature: 1, MaxNewTokens: n}
			return testing.AllocsPerRun(3, func() {
				if _, err := m.Generate(context.Background(), 5, reqs, p); err != nil {
					t.Fatal(err)
				}
			})
		}
		short, long := allocs(10), allocs(40)
		runtime.GOMAXPROCS(old)
		if long > short {
			t.Errorf("GOMAXPROCS=%d: %v allocations for 40 new tokens, %v for 10", procs, long, short)
		}
	}
}
