package policy

import (
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

func TestGraphCacheIsBoundedAndEvictionKeepsResults(t *testing.T) {
	m := cacheTestModel(t)
	first, _, err := m.LogProbs(cacheTestBatch(1), 1)
	if err != nil {
		t.Fatal(err)
	}
	for b := 1; b <= maxCachedGraphs+3; b++ {
		if _, _, err := m.LogProbs(cacheTestBatch(b), 1); err != nil {
			t.Fatal(err)
		}
		if len(m.graphs) > maxCachedGraphs {
			t.Fatalf("%d graphs cached after %d shapes, bound %d", len(m.graphs), b, maxCachedGraphs)
		}
	}
	again, _, err := m.LogProbs(cacheTestBatch(1), 1) // its graph was evicted and is rebuilt
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first[0], again[0]) {
		t.Fatalf("log-probs changed after eviction: %v vs %v", first[0], again[0])
	}
}

// TestGraphCacheIsBoundedByBytes: with graphs larger than the cache's byte
// budget, a new shape drops every cached graph first, so one graph's
// buffers are alive at a time, and rebuilt graphs give the same results.
func TestGraphCacheIsBoundedByBytes(t *testing.T) {
	m := cacheTestModel(t)
	first, _, err := m.LogProbs(cacheTestBatch(2), 1)
	if err != nil {
		t.Fatal(err)
	}
	var g *netGraph
	for _, g = range m.graphs {
	}
	// B 2 × T 4 positions of 264 logits are in the values, at the least.
	if min := int64(2 * 4 * 264 * 4); g.bytes < min {
		t.Fatalf("graph values measured as %d bytes, want at least the logits' %d", g.bytes, min)
	}
	m.budget = g.bytes - 1
	for b := 3; b <= 5; b++ {
		if _, _, err := m.LogProbs(cacheTestBatch(b), 1); err != nil {
			t.Fatal(err)
		}
		if len(m.graphs) != 1 {
			t.Fatalf("%d graphs cached over a budget one graph exceeds", len(m.graphs))
		}
	}
	m.budget = 1 << 40
	for b := 1; b <= 3; b++ {
		if _, _, err := m.LogProbs(cacheTestBatch(b), 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.graphs) != 4 {
		t.Fatalf("%d graphs cached within the budget, want 4 (B 5, 1, 2, 3)", len(m.graphs))
	}
	again, _, err := m.LogProbs(cacheTestBatch(2), 1)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first[0], again[0]) || !slices.Equal(first[1], again[1]) {
		t.Fatalf("log-probs changed after eviction: %v vs %v", first, again)
	}
}

// cacheTestModel is a one-layer model whose graphs build in milliseconds.
func cacheTestModel(t *testing.T) *Model {
	t.Helper()
	m, err := NewModel(Config{Layers: 1, DModel: 8, Heads: 2, DFF: 16, Context: 32, Vocab: 264, InitSeed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// cacheTestBatch is b two-token prompts with two-token completions: one
// graph shape per b.
func cacheTestBatch(b int) SeqBatch {
	var s SeqBatch
	for i := 0; i < b; i++ {
		s.Prompts = append(s.Prompts, []int32{1, int32(20 + i)})
		s.Completions = append(s.Completions, []int32{int32(30 + i), 2})
	}
	return s
}

// TestGraphBytesLeaveOutTheWeights: the weights are the model's, shared
// by every graph, so a graph's measured bytes must not count them (for a
// 135M-parameter model they would fill the cache's budget by themselves).
func TestGraphBytesLeaveOutTheWeights(t *testing.T) {
	m := cacheTestModel(t)
	if _, _, err := m.LogProbs(cacheTestBatch(1), 1); err != nil {
		t.Fatal(err)
	}
	for _, g := range m.graphs {
		var all int64
		for _, node := range g.g.AllNodes() {
			if v, ok := node.Value().(tensor.Tensor); ok {
				all += int64(v.MemSize())
			}
		}
		if weights := int64(4 * m.NumParams()); g.bytes != all-weights {
			t.Fatalf("graph bytes %d, want all values %d less the weights' %d", g.bytes, all, weights)
		}
	}
}
