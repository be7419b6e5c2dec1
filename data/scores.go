package data

import (
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// CompletionRow is a completion to score without rollout metadata: a row
// of the JSON lines `rlpipe score` reads. CompletionTokens is the
// completion's length in tokens (0 when unknown).
type CompletionRow struct {
	Prompt           string
	Completion       string
	Answer           string
	Meta             string
	CompletionTokens int
}

// CompletionRowsSchema returns a new schema of completion rows: prompt,
// completion, answer and meta utf8, then completion_tokens int64 (a count,
// not the tokens). Unlike the batch schemas it carries no metadata, so the
// Parquet and Arrow files `rlpipe score` writes from JSON lines keep the
// bytes they always had.
func CompletionRowsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: ColPrompt, Type: arrow.BinaryTypes.String}, {Name: ColCompletion, Type: arrow.BinaryTypes.String},
		{Name: ColAnswer, Type: arrow.BinaryTypes.String}, {Name: ColMeta, Type: arrow.BinaryTypes.String},
		{Name: ColCompletionTokens, Type: arrow.PrimitiveTypes.Int64},
	}, nil)
}

// NewCompletionRowsRecord builds a record of rows (CompletionRowsSchema).
// The caller owns its one reference; a nil mem means
// memory.DefaultAllocator.
func NewCompletionRowsRecord(mem memory.Allocator, rows []CompletionRow) arrow.Record {
	return buildRecord(mem, CompletionRowsSchema(), rows, func(b *array.RecordBuilder) func(*CompletionRow) {
		return func(r *CompletionRow) {
			b.Field(0).(*array.StringBuilder).Append(r.Prompt)
			b.Field(1).(*array.StringBuilder).Append(r.Completion)
			b.Field(2).(*array.StringBuilder).Append(r.Answer)
			b.Field(3).(*array.StringBuilder).Append(r.Meta)
			b.Field(4).(*array.Int64Builder).Append(int64(r.CompletionTokens))
		}
	})
}

// Score is one row's reward columns without the row they score.
// RewardError "" is stored as null.
type Score struct {
	Reward      float64
	RewardParts map[string]float64
	RewardError string
}

// WithScores returns base's columns followed by the scored columns built
// from scores: reward float64, reward_parts map<utf8,float64> (keys
// sorted) and reward_error utf8 (nullable), typed as in ScoredSchema.
// Columns of base with those names are left out, so re-scoring a scored
// file replaces its scores. The schema keeps base's fields (with their
// metadata) but has no schema metadata, as base may be any user file.
//
// base is neither released nor modified; the caller owns the result's one
// reference. A nil mem means memory.DefaultAllocator. It panics unless
// len(scores) equals base's row count.
func WithScores(mem memory.Allocator, base arrow.Record, scores []Score) arrow.Record {
	if int64(len(scores)) != base.NumRows() {
		panic(fmt.Sprintf("data: WithScores: %d scores for %d rows", len(scores), base.NumRows()))
	}
	var fields []arrow.Field
	var cols []arrow.Array
	for i, f := range base.Schema().Fields() {
		if f.Name == ColReward || f.Name == ColRewardParts || f.Name == ColRewardError {
			continue // re-scoring replaces old scores
		}
		fields = append(fields, f)
		cols = append(cols, base.Column(i))
	}
	scored := scoreColumns(orDefaultMem(mem), scores)
	defer scored.Release()
	fields = append(fields, scored.Schema().Fields()...)
	cols = append(cols, scored.Columns()...)
	return array.NewRecord(arrow.NewSchema(fields, nil), cols, int64(len(scores)))
}

// scoreColumns builds a record of just the three scored columns.
func scoreColumns(mem memory.Allocator, scores []Score) arrow.Record {
	all := scoredFields()
	n := len(rolloutFields())
	return buildRecord(mem, arrow.NewSchema(all[n:], nil), scores, func(b *array.RecordBuilder) func(*Score) {
		c := newScoredCols(b, 0, len(scores))
		return func(s *Score) { c.appendScore(s.Reward, s.RewardParts, s.RewardError) }
	})
}
