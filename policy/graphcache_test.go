package policy

import (
	"slices"
	"testing"
)

func TestGraphCacheIsBoundedAndEvictionKeepsResults(t *testing.T) {
	m, err := NewModel(Config{Layers: 1, DModel: 8, Heads: 2, DFF: 16, Context: 32, Vocab: 264, InitSeed: 5})
	if err != nil {
		t.Fatal(err)
	}
	batch := func(b int) SeqBatch {
		var s SeqBatch
		for i := 0; i < b; i++ {
			s.Prompts = append(s.Prompts, []int32{1, int32(20 + i)})
			s.Completions = append(s.Completions, []int32{int32(30 + i), 2})
		}
		return s
	}
	first, _, err := m.LogProbs(batch(1), 1)
	if err != nil {
		t.Fatal(err)
	}
	for b := 1; b <= maxCachedGraphs+3; b++ {
		if _, _, err := m.LogProbs(batch(b), 1); err != nil {
			t.Fatal(err)
		}
		if len(m.graphs) > maxCachedGraphs {
			t.Fatalf("%d graphs cached after %d shapes, bound %d", len(m.graphs), b, maxCachedGraphs)
		}
	}
	again, _, err := m.LogProbs(batch(1), 1) // its graph was evicted and is rebuilt
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(first[0], again[0]) {
		t.Fatalf("log-probs changed after eviction: %v vs %v", first[0], again[0])
	}
}
