package curate

import (
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// BenchmarkGroupStats measures one prompt's statistics for N = 8 samples
// of 96 tokens, the default curation shape; self-BLEU dominates.
func BenchmarkGroupStats(b *testing.B) {
	correct := make([]bool, 8)
	tokens := make([][]int32, 8)
	for i := range tokens {
		correct[i] = i%3 == 0
		tokens[i] = make([]int32, 96)
		for j := range tokens[i] {
			tokens[i][j] = int32(8 + (i*7+j*13)%40)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		groupStats(0, 1, correct, tokens)
	}
}

// BenchmarkNewRecord measures building a 1024-row curated batch.
func BenchmarkNewRecord(b *testing.B) {
	rows := make([]Row, 1024)
	for i := range rows {
		rows[i] = Row{Prompt: data.Prompt{ID: uint64(i), Dataset: "gsm8k", Prompt: "What is 12 times 7?", Answer: "84", Meta: "{}"},
			Stats: Stats{Index: int64(i), Samples: 8, PassRate: 0.5, OVS: 0.25, TDS: 0.3}}
	}
	schema := data.CuratedSchema(nil)
	mem := memory.NewGoAllocator()
	b.ReportAllocs()
	for b.Loop() {
		NewRecord(mem, schema, rows, DefaultAlpha, DefaultBeta).Release()
	}
}
