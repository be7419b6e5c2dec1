package data

import (
	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// Column names of a curated file (CuratedSchema) beyond ColPrompt (verl's
// chat list there), ColPromptID and the statistics it shares with the
// sampler table (ColPassRate, ColOVS, ColTDS, ColVPS). The first four are
// verl's.
const (
	ColDataSource  = "data_source"
	ColAbility     = "ability"
	ColRewardModel = "reward_model"
	ColExtraInfo   = "extra_info"
	ColSamples     = "samples"
)

var (
	chatMessageType = arrow.StructOf(
		arrow.Field{Name: "role", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "content", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	rewardModelType = arrow.StructOf(
		arrow.Field{Name: "ground_truth", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "style", Type: arrow.BinaryTypes.String, Nullable: true},
	)
	// extraInfoType mirrors verl's GSM8K extra_info (split, index, answer,
	// question) plus rlpipe's prompt_id and the row's original meta JSON.
	extraInfoType = arrow.StructOf(
		arrow.Field{Name: "split", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "index", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		arrow.Field{Name: "answer", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "question", Type: arrow.BinaryTypes.String, Nullable: true},
		arrow.Field{Name: "prompt_id", Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		arrow.Field{Name: "meta", Type: arrow.BinaryTypes.String, Nullable: true},
	)
)

// CuratedSchema returns the schema of a curated file (`rlpipe curate`):
// verl's data_source utf8, prompt list<struct<role, content>>, ability utf8,
// reward_model struct<ground_truth, style> and extra_info struct<split,
// index, answer, question, prompt_id, meta>, then prompt_id uint64 and the
// statistics pass_rate, ovs, tds, vps float64 and samples int64; every
// column is nullable, as verl's files are. meta (may be nil) becomes the
// schema metadata. OpenSpec reads such a file back as prompts.
func CuratedSchema(meta map[string]string) *arrow.Schema {
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	md := arrow.MetadataFrom(meta)
	return arrow.NewSchema([]arrow.Field{
		f(ColDataSource, arrow.BinaryTypes.String),
		f(ColPrompt, arrow.ListOf(chatMessageType)),
		f(ColAbility, arrow.BinaryTypes.String),
		f(ColRewardModel, rewardModelType),
		f(ColExtraInfo, extraInfoType),
		f(ColPromptID, arrow.PrimitiveTypes.Uint64),
		f(ColPassRate, arrow.PrimitiveTypes.Float64),
		f(ColOVS, arrow.PrimitiveTypes.Float64),
		f(ColTDS, arrow.PrimitiveTypes.Float64),
		f(ColVPS, arrow.PrimitiveTypes.Float64),
		f(ColSamples, arrow.PrimitiveTypes.Int64),
	}, &md)
}

// CuratedRow is one row of a curated file: a prompt, the split it came
// from, its 0-based index in the dataset and its statistics.
type CuratedRow struct {
	Prompt                  Prompt
	Split                   string
	Index                   int64
	PassRate, OVS, TDS, VPS float64
	Samples                 int
}

// NewCuratedRecord builds a curated batch of rows; schema must be a
// CuratedSchema (its metadata is the caller's). The prompt becomes one
// user message, ability "math" and reward_model.style "rule", as in verl's
// GSM8K files; an empty meta is written as "{}". The caller owns the
// record's one reference; a nil mem means memory.DefaultAllocator.
func NewCuratedRecord(mem memory.Allocator, schema *arrow.Schema, rows []CuratedRow) arrow.Record {
	return buildRecord(mem, schema, rows, func(b *array.RecordBuilder) func(*CuratedRow) {
		src := b.Field(0).(*array.StringBuilder)
		list := b.Field(1).(*array.ListBuilder)
		msg := list.ValueBuilder().(*array.StructBuilder)
		ability := b.Field(2).(*array.StringBuilder)
		rm := b.Field(3).(*array.StructBuilder)
		extra := b.Field(4).(*array.StructBuilder)
		return func(r *CuratedRow) {
			src.Append(r.Prompt.Dataset)
			list.Append(true)
			msg.Append(true)
			msg.FieldBuilder(0).(*array.StringBuilder).Append("user")
			msg.FieldBuilder(1).(*array.StringBuilder).Append(r.Prompt.Prompt)
			ability.Append("math")
			rm.Append(true)
			rm.FieldBuilder(0).(*array.StringBuilder).Append(r.Prompt.Answer)
			rm.FieldBuilder(1).(*array.StringBuilder).Append("rule")
			extra.Append(true)
			extra.FieldBuilder(0).(*array.StringBuilder).Append(r.Split)
			extra.FieldBuilder(1).(*array.Int64Builder).Append(r.Index)
			extra.FieldBuilder(2).(*array.StringBuilder).Append(r.Prompt.Answer)
			extra.FieldBuilder(3).(*array.StringBuilder).Append(r.Prompt.Prompt)
			extra.FieldBuilder(4).(*array.Uint64Builder).Append(r.Prompt.ID)
			extra.FieldBuilder(5).(*array.StringBuilder).Append(orEmptyObject(r.Prompt.Meta))
			b.Field(5).(*array.Uint64Builder).Append(r.Prompt.ID)
			b.Field(6).(*array.Float64Builder).Append(r.PassRate)
			b.Field(7).(*array.Float64Builder).Append(r.OVS)
			b.Field(8).(*array.Float64Builder).Append(r.TDS)
			b.Field(9).(*array.Float64Builder).Append(r.VPS)
			b.Field(10).(*array.Int64Builder).Append(int64(r.Samples))
		}
	})
}

func orEmptyObject(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}
