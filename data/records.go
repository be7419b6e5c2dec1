package data

import (
	"fmt"
	"sort"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// NewPromptsRecord builds a prompts batch (PromptsSchema) from rows. The
// returned record holds one reference owned by the caller, who must Release
// it (or hand it on, passing that duty along). A nil mem means
// memory.DefaultAllocator. Cost: one pass over rows with
// builders sized up front.
func NewPromptsRecord(mem memory.Allocator, rows []Prompt) arrow.Record {
	return buildRecord(mem, PromptsSchema(), rows, func(b *array.RecordBuilder) func(*Prompt) {
		return newPromptCols(b, 0, len(rows)).append
	})
}

// NewRolloutsRecord builds a rollouts batch (RolloutsSchema) from rows. The
// returned record holds one reference owned by the caller.
func NewRolloutsRecord(mem memory.Allocator, rows []Rollout) arrow.Record {
	return buildRecord(mem, RolloutsSchema(), rows, func(b *array.RecordBuilder) func(*Rollout) {
		return newRolloutCols(b, len(rows), func(i int) *Rollout { return &rows[i] }).append
	})
}

// NewScoredRecord builds a scored batch (ScoredSchema) from rows. The
// returned record holds one reference owned by the caller.
func NewScoredRecord(mem memory.Allocator, rows []Scored) arrow.Record {
	return buildRecord(mem, ScoredSchema(), rows, func(b *array.RecordBuilder) func(*Scored) {
		return newScoredRowCols(b, len(rows), func(i int) *Rollout { return &rows[i].Rollout }).append
	})
}

// NewTrainRecord builds a train batch (TrainSchema) from rows. The returned
// record holds one reference owned by the caller.
func NewTrainRecord(mem memory.Allocator, rows []TrainRow) arrow.Record {
	return buildRecord(mem, TrainSchema(), rows, func(b *array.RecordBuilder) func(*TrainRow) {
		sb := newScoredRowCols(b, len(rows), func(i int) *Rollout { return &rows[i].Rollout })
		off := len(scoredFields())
		adv := b.Field(off).(*array.Float32Builder)
		mean := b.Field(off + 1).(*array.Float32Builder)
		std := b.Field(off + 2).(*array.Float32Builder)
		keep := b.Field(off + 3).(*array.BooleanBuilder)
		reserve(len(rows), adv, mean, std, keep)
		return func(r *TrainRow) {
			sb.append(&r.Scored)
			adv.UnsafeAppend(r.Advantage)
			mean.UnsafeAppend(r.GroupMean)
			std.UnsafeAppend(r.GroupStd)
			keep.UnsafeAppend(r.Keep)
		}
	})
}

// buildRecord builds a batch of schema from rows, one call of the appender
// cols returns (after sizing its builders) a row: the one loop every
// New*Record shares.
func buildRecord[R any](mem memory.Allocator, schema *arrow.Schema, rows []R, cols func(b *array.RecordBuilder) func(*R)) arrow.Record {
	b := array.NewRecordBuilder(orDefaultMem(mem), schema)
	defer b.Release()
	appendRow := cols(b)
	for i := range rows {
		appendRow(&rows[i])
	}
	return b.NewRecord()
}

// orDefaultMem lets callers pass a nil allocator.
func orDefaultMem(mem memory.Allocator) memory.Allocator {
	if mem == nil {
		return memory.DefaultAllocator
	}
	return mem
}

// reserve sizes each builder for n more rows, so that the appends that
// follow (UnsafeAppend among them) need no growth.
func reserve(n int, bs ...array.Builder) {
	for _, b := range bs {
		b.Reserve(n)
	}
}

// promptCols appends the five prompt columns starting at field off.
type promptCols struct {
	id      *array.Uint64Builder
	dataset *array.BinaryDictionaryBuilder
	prompt  *array.StringBuilder
	answer  *array.StringBuilder
	meta    *array.StringBuilder
}

func newPromptCols(b *array.RecordBuilder, off, n int) promptCols {
	c := promptCols{
		id:      b.Field(off).(*array.Uint64Builder),
		dataset: b.Field(off + 1).(*array.BinaryDictionaryBuilder),
		prompt:  b.Field(off + 2).(*array.StringBuilder),
		answer:  b.Field(off + 3).(*array.StringBuilder),
		meta:    b.Field(off + 4).(*array.StringBuilder),
	}
	reserve(n, c.id, c.dataset, c.prompt, c.answer, c.meta)
	return c
}

func (c promptCols) append(p *Prompt) {
	c.appendFields(p.ID, p.Dataset, p.Prompt, p.Answer, p.Meta)
}

func (c promptCols) appendFields(id uint64, dataset, prompt, answer, meta string) {
	c.id.UnsafeAppend(id)
	if err := c.dataset.AppendString(dataset); err != nil {
		panic("data: dictionary append: " + err.Error())
	}
	c.prompt.Append(prompt)
	c.answer.Append(answer)
	if meta == "" {
		meta = "{}"
	}
	c.meta.Append(meta)
}

// rolloutCols appends the prompt and rollout columns (fields 0..12).
type rolloutCols struct {
	promptCols
	sampleIdx  *array.Int32Builder
	mode       *array.Uint8Builder
	version    *array.Int64Builder
	promptTok  *array.ListBuilder
	promptVals *array.Int32Builder
	complTok   *array.ListBuilder
	complVals  *array.Int32Builder
	completion *array.StringBuilder
	logprobs   *array.ListBuilder
	lpVals     *array.Float32Builder
	finish     *array.BinaryDictionaryBuilder
}

func newRolloutCols(b *array.RecordBuilder, n int, row func(int) *Rollout) rolloutCols {
	c := rolloutCols{
		promptCols: newPromptCols(b, 0, n),
		sampleIdx:  b.Field(5).(*array.Int32Builder),
		mode:       b.Field(6).(*array.Uint8Builder),
		version:    b.Field(7).(*array.Int64Builder),
		promptTok:  b.Field(8).(*array.ListBuilder),
		complTok:   b.Field(9).(*array.ListBuilder),
		completion: b.Field(10).(*array.StringBuilder),
		logprobs:   b.Field(11).(*array.ListBuilder),
		finish:     b.Field(12).(*array.BinaryDictionaryBuilder),
	}
	seedFinishDictionary(c.finish)
	c.promptVals = c.promptTok.ValueBuilder().(*array.Int32Builder)
	c.complVals = c.complTok.ValueBuilder().(*array.Int32Builder)
	c.lpVals = c.logprobs.ValueBuilder().(*array.Float32Builder)
	var nPrompt, nCompl, nLP, nText int
	for i := 0; i < n; i++ {
		r := row(i)
		nPrompt += len(r.PromptTokens)
		nCompl += len(r.CompletionTokens)
		nLP += len(r.Logprobs)
		nText += len(r.Completion)
	}
	reserve(n, c.sampleIdx, c.mode, c.version, c.promptTok, c.complTok, c.logprobs, c.completion, c.finish)
	c.completion.ReserveData(nText)
	c.promptVals.Reserve(nPrompt)
	c.complVals.Reserve(nCompl)
	c.lpVals.Reserve(nLP)
	return c
}

func (c rolloutCols) append(r *Rollout) {
	c.promptCols.appendFields(r.PromptID, r.Dataset, r.Prompt, r.Answer, r.Meta)
	c.sampleIdx.UnsafeAppend(r.SampleIdx)
	c.mode.UnsafeAppend(r.Mode)
	c.version.UnsafeAppend(r.PolicyVersion)
	c.promptTok.Append(true)
	c.promptVals.AppendValues(r.PromptTokens, nil)
	c.complTok.Append(true)
	c.complVals.AppendValues(r.CompletionTokens, nil)
	c.completion.Append(r.Completion)
	if r.Logprobs == nil {
		c.logprobs.AppendNull()
	} else {
		c.logprobs.Append(true)
		c.lpVals.AppendValues(r.Logprobs, nil)
	}
	if err := c.finish.AppendString(r.FinishReason); err != nil {
		panic("data: dictionary append: " + err.Error())
	}
}

// seedFinishDictionary fixes the finish_reason dictionary to [stop, length]
// whatever a batch holds, so consecutive batches share one dictionary (the
// Arrow IPC file format allows only one dictionary per field).
func seedFinishDictionary(b *array.BinaryDictionaryBuilder) {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	sb.AppendValues([]string{FinishStop, FinishLength}, nil)
	vals := sb.NewStringArray()
	defer vals.Release()
	if err := b.InsertStringDictValues(vals); err != nil {
		panic("data: seed finish_reason dictionary: " + err.Error())
	}
}

// scoredCols appends reward, reward_parts and reward_error from field off.
type scoredCols struct {
	reward *array.Float64Builder
	parts  *array.MapBuilder
	keys   *array.StringBuilder
	items  *array.Float64Builder
	errs   *array.StringBuilder
	names  []string
}

func newScoredCols(b *array.RecordBuilder, off, n int) *scoredCols {
	c := &scoredCols{
		reward: b.Field(off).(*array.Float64Builder),
		parts:  b.Field(off + 1).(*array.MapBuilder),
		errs:   b.Field(off + 2).(*array.StringBuilder),
	}
	c.keys = c.parts.KeyBuilder().(*array.StringBuilder)
	c.items = c.parts.ItemBuilder().(*array.Float64Builder)
	reserve(n, c.reward, c.parts, c.errs)
	return c
}

func (c *scoredCols) append(s *Scored) {
	c.appendScore(s.Reward, s.RewardParts, s.RewardError)
}

// scoredRowCols appends whole Scored rows: the rollout columns, then the
// score columns after them.
type scoredRowCols struct {
	rollout rolloutCols
	score   *scoredCols
}

func newScoredRowCols(b *array.RecordBuilder, n int, row func(int) *Rollout) scoredRowCols {
	return scoredRowCols{newRolloutCols(b, n, row), newScoredCols(b, len(rolloutFields()), n)}
}

func (c scoredRowCols) append(s *Scored) {
	c.rollout.append(&s.Rollout)
	c.score.append(s)
}

// appendScore appends one row: reward, the parts with their keys sorted
// and reward_error, null when "".
func (c *scoredCols) appendScore(reward float64, parts map[string]float64, rewardError string) {
	c.reward.UnsafeAppend(reward)
	c.parts.Append(true)
	// Sorted keys make the bytes of a batch independent of map iteration.
	c.names = c.names[:0]
	for k := range parts {
		c.names = append(c.names, k)
	}
	sort.Strings(c.names)
	for _, k := range c.names {
		c.keys.Append(k)
		c.items.Append(parts[k])
	}
	if rewardError == "" {
		c.errs.AppendNull()
	} else {
		c.errs.Append(rewardError)
	}
}

// dictStrings returns a dictionary column's values as owned Go strings,
// cloned once per record so rows stay valid after the record is released.
func dictStrings(col arrow.Array) (*array.Dictionary, []string, error) {
	d, ok := col.(*array.Dictionary)
	if !ok {
		return nil, nil, fmt.Errorf("%w: want dictionary column, got %s", ErrSchema, col.DataType())
	}
	vals, ok := d.Dictionary().(*array.String)
	if !ok {
		return nil, nil, fmt.Errorf("%w: dictionary values %s, want utf8", ErrSchema, d.Dictionary().DataType())
	}
	out := make([]string, vals.Len())
	for i := range out {
		out[i] = strings.Clone(vals.Value(i))
	}
	return d, out, nil
}
