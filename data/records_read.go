package data

import (
	"fmt"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// PromptsFromRecord converts a record holding the prompts columns (extra
// columns are ignored, so rollouts and later batches work too) into rows.
// The rows own their memory: rec may be released afterwards. It does not
// release rec.
func PromptsFromRecord(rec arrow.Record) ([]Prompt, error) {
	return fromRecord(rec, func(rec arrow.Record) (func(int, *Prompt), error) {
		pc, err := readPromptCols(rec)
		if err != nil {
			return nil, err
		}
		return func(i int, p *Prompt) { pc.row(i, &p.ID, &p.Dataset, &p.Prompt, &p.Answer, &p.Meta) }, nil
	})
}

// RolloutsFromRecord converts a record holding the rollouts columns (scored
// and train batches work too) into rows that own their memory. It does not
// release rec.
func RolloutsFromRecord(rec arrow.Record) ([]Rollout, error) {
	return fromRecord(rec, func(rec arrow.Record) (func(int, *Rollout), error) {
		rc, err := readRolloutCols(rec)
		if err != nil {
			return nil, err
		}
		return rc.row, nil
	})
}

// ScoredFromRecord converts a record holding the scored columns (train
// batches work too) into rows that own their memory. It does not release rec.
func ScoredFromRecord(rec arrow.Record) ([]Scored, error) {
	return fromRecord(rec, readScoredRow)
}

// TrainFromRecord converts a train batch into rows that own their memory.
// It does not release rec.
func TrainFromRecord(rec arrow.Record) ([]TrainRow, error) {
	return fromRecord(rec, func(rec arrow.Record) (func(int, *TrainRow), error) {
		scored, err := readScoredRow(rec)
		if err != nil {
			return nil, err
		}
		idx, err := requireColumns(rec.Schema(), trainFields()[len(scoredFields()):])
		if err != nil {
			return nil, err
		}
		adv := rec.Column(idx[0]).(*array.Float32)
		mean := rec.Column(idx[1]).(*array.Float32)
		std := rec.Column(idx[2]).(*array.Float32)
		keep := rec.Column(idx[3]).(*array.Boolean)
		return func(i int, r *TrainRow) {
			scored(i, &r.Scored)
			r.Advantage, r.GroupMean, r.GroupStd = adv.Value(i), mean.Value(i), std.Value(i)
			r.Keep = keep.Value(i)
		}, nil
	})
}

// fromRecord converts every row of rec with the reader cols returns after
// checking rec's columns: the one loop every *FromRecord shares.
func fromRecord[R any](rec arrow.Record, cols func(arrow.Record) (func(int, *R), error)) ([]R, error) {
	row, err := cols(rec)
	if err != nil {
		return nil, err
	}
	rows := make([]R, rec.NumRows())
	for i := range rows {
		row(i, &rows[i])
	}
	return rows, nil
}

// readScoredRow returns a reader of whole Scored rows: the rollout columns
// and the score columns.
func readScoredRow(rec arrow.Record) (func(int, *Scored), error) {
	rc, err := readRolloutCols(rec)
	if err != nil {
		return nil, err
	}
	sc, err := readScoredCols(rec)
	if err != nil {
		return nil, err
	}
	return func(i int, s *Scored) {
		rc.row(i, &s.Rollout)
		sc.row(i, s)
	}, nil
}

type promptReadCols struct {
	id                   *array.Uint64
	dataset              *array.Dictionary
	datasetNames         []string
	prompt, answer, meta *array.String
}

func readPromptCols(rec arrow.Record) (*promptReadCols, error) {
	idx, err := requireColumns(rec.Schema(), promptFields())
	if err != nil {
		return nil, err
	}
	c := &promptReadCols{
		id:     rec.Column(idx[0]).(*array.Uint64),
		prompt: rec.Column(idx[2]).(*array.String),
		answer: rec.Column(idx[3]).(*array.String),
		meta:   rec.Column(idx[4]).(*array.String),
	}
	c.dataset, c.datasetNames, err = dictStrings(rec.Column(idx[1]))
	return c, err
}

func (c *promptReadCols) row(i int, id *uint64, dataset, prompt, answer, meta *string) {
	*id = c.id.Value(i)
	*dataset = c.datasetNames[c.dataset.GetValueIndex(i)]
	*prompt = strings.Clone(c.prompt.Value(i))
	*answer = strings.Clone(c.answer.Value(i))
	*meta = strings.Clone(c.meta.Value(i))
}

type rolloutReadCols struct {
	*promptReadCols
	sampleIdx             *array.Int32
	mode                  *array.Uint8
	version               *array.Int64
	promptTok, complTok   *array.List
	completion            *array.String
	logprobs              *array.List
	finish                *array.Dictionary
	finishNames           []string
	promptVals, complVals []int32
	lpVals                []float32
}

func readRolloutCols(rec arrow.Record) (*rolloutReadCols, error) {
	pc, err := readPromptCols(rec)
	if err != nil {
		return nil, err
	}
	f := rolloutFields()
	idx, err := requireColumns(rec.Schema(), f[len(promptFields()):])
	if err != nil {
		return nil, err
	}
	c := &rolloutReadCols{
		promptReadCols: pc,
		sampleIdx:      rec.Column(idx[0]).(*array.Int32),
		mode:           rec.Column(idx[1]).(*array.Uint8),
		version:        rec.Column(idx[2]).(*array.Int64),
		promptTok:      rec.Column(idx[3]).(*array.List),
		complTok:       rec.Column(idx[4]).(*array.List),
		completion:     rec.Column(idx[5]).(*array.String),
		logprobs:       rec.Column(idx[6]).(*array.List),
	}
	c.promptVals = c.promptTok.ListValues().(*array.Int32).Int32Values()
	c.complVals = c.complTok.ListValues().(*array.Int32).Int32Values()
	c.lpVals = c.logprobs.ListValues().(*array.Float32).Float32Values()
	c.finish, c.finishNames, err = dictStrings(rec.Column(idx[7]))
	return c, err
}

func (c *rolloutReadCols) row(i int, r *Rollout) {
	c.promptReadCols.row(i, &r.PromptID, &r.Dataset, &r.Prompt, &r.Answer, &r.Meta)
	r.SampleIdx = c.sampleIdx.Value(i)
	r.Mode = c.mode.Value(i)
	r.PolicyVersion = c.version.Value(i)
	// Empty token lists read back as nil; logprobs keep null vs empty.
	s, e := c.promptTok.ValueOffsets(i)
	r.PromptTokens = append([]int32(nil), c.promptVals[s:e]...)
	s, e = c.complTok.ValueOffsets(i)
	r.CompletionTokens = append([]int32(nil), c.complVals[s:e]...)
	var s2, e2 int64
	r.Completion = strings.Clone(c.completion.Value(i))
	r.Logprobs = nil
	if c.logprobs.IsValid(i) {
		s2, e2 = c.logprobs.ValueOffsets(i)
		r.Logprobs = append(make([]float32, 0, e2-s2), c.lpVals[s2:e2]...)
	}
	r.FinishReason = c.finishNames[c.finish.GetValueIndex(i)]
}

type scoredReadCols struct {
	reward *array.Float64
	parts  *array.Map
	keys   *array.String
	items  *array.Float64
	errs   *array.String
}

func readScoredCols(rec arrow.Record) (*scoredReadCols, error) {
	f := scoredFields()
	idx, err := requireColumns(rec.Schema(), f[len(rolloutFields()):])
	if err != nil {
		return nil, err
	}
	c := &scoredReadCols{
		reward: rec.Column(idx[0]).(*array.Float64),
		parts:  rec.Column(idx[1]).(*array.Map),
		errs:   rec.Column(idx[2]).(*array.String),
	}
	var ok bool
	if c.keys, ok = c.parts.Keys().(*array.String); !ok {
		return nil, fmt.Errorf("%w: reward_parts keys %s", ErrSchema, c.parts.Keys().DataType())
	}
	if c.items, ok = c.parts.Items().(*array.Float64); !ok {
		return nil, fmt.Errorf("%w: reward_parts items %s", ErrSchema, c.parts.Items().DataType())
	}
	return c, nil
}

func (c *scoredReadCols) row(i int, s *Scored) {
	s.Reward = c.reward.Value(i)
	s.RewardParts = nil
	if b, e := c.parts.ValueOffsets(i); c.parts.IsValid(i) && e > b {
		s.RewardParts = make(map[string]float64, e-b)
		for j := int(b); j < int(e); j++ {
			s.RewardParts[strings.Clone(c.keys.Value(j))] = c.items.Value(j)
		}
	}
	s.RewardError = ""
	if c.errs.IsValid(i) {
		s.RewardError = strings.Clone(c.errs.Value(i))
	}
}
