package curate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/datatest"
	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/rollout"
)

// fakeGen answers each (seed, prompt id, sample) deterministically: the
// right answer for about a third of the draws, a wrong one otherwise, with
// token sequences that vary per draw. It can fail after a number of calls
// and lose every sample of chosen prompts.
type fakeGen struct {
	failAfter int64 // > 0: calls beyond this many fail
	calls     atomic.Int64
	mu        sync.Mutex
	lose      map[uint64]bool // prompt ids whose samples are lost
}

var errFake = errors.New("fake generator failure")

func (g *fakeGen) Generate(ctx context.Context, req rollout.Request) ([]data.Rollout, error) {
	if n := g.calls.Add(1); g.failAfter > 0 && n > g.failAfter {
		return nil, errFake
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []data.Rollout
	for _, p := range req.Prompts {
		if g.lose[p.ID] {
			continue
		}
		for s := 0; s < req.G; s++ {
			h := rng.SplitMix64(req.Seed ^ rng.SplitMix64(p.ID^rng.SplitMix64(uint64(s)+1)))
			completion := "<think>guess</think><answer>" + p.Answer + "</answer>"
			if h%3 != 0 {
				completion = fmt.Sprintf("<think>guess</think><answer>%d</answer>", h%1000+100000)
			}
			toks := make([]int32, 4+h%5)
			for i := range toks {
				toks[i] = int32(8 + (h>>(3*i))%6)
			}
			out = append(out, data.Rollout{PromptID: p.ID, Dataset: p.Dataset, Prompt: p.Prompt, Answer: p.Answer,
				Meta: p.Meta, SampleIdx: int32(s), Completion: completion, CompletionTokens: toks})
		}
	}
	return out, nil
}

// writeDataset writes n generated arithmetic prompts to a JSONL file and
// returns its path.
func writeDataset(t *testing.T, n int) string {
	t.Helper()
	prompts := datatest.ReadSpec(t, "arithmetic:test", data.WithN(n*20), data.WithSeed(3))
	if len(prompts) < n {
		t.Fatalf("only %d prompts", len(prompts))
	}
	path := filepath.Join(t.TempDir(), "arith.jsonl")
	if err := data.WritePromptsFile(path, prompts[:n]); err != nil {
		t.Fatal(err)
	}
	return path
}

// parquetRows returns every row of a Parquet file as a JSON line.
func parquetRows(t *testing.T, path string) []string {
	t.Helper()
	res, err := data.Inspect(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(res.FirstRows)) != res.Rows {
		t.Fatalf("read %d of %d rows", len(res.FirstRows), res.Rows)
	}
	return res.FirstRows
}

func fakeSource(g *fakeGen) *Source { return &Source{Generator: g, Model: "fake"} }

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
