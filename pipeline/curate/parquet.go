package curate

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// Column names of a curated file. The first five are verl's; prompt_id
// keeps rlpipe's prompt ids through data.OpenSpec; the rest are the
// statistics.
const (
	ColDataSource  = "data_source"
	ColPrompt      = "prompt"
	ColAbility     = "ability"
	ColRewardModel = "reward_model"
	ColExtraInfo   = "extra_info"
	ColPromptID    = "prompt_id"
	ColPassRate    = "pass_rate"
	ColOVS         = "ovs"
	ColTDS         = "tds"
	ColVPS         = "vps"
	ColSamples     = "samples"
)

// MetadataKey is the schema metadata key holding the curation settings
// (JSON) in a curated file.
const MetadataKey = "rlpipe.curate"

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

// Schema returns the Arrow schema of a curated file; meta (may be nil)
// becomes its metadata.
func Schema(meta map[string]string) *arrow.Schema {
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

// Row is one curated dataset row: the prompt and its statistics.
type Row struct {
	Prompt data.Prompt
	Split  string
	Stats  Stats
}

// NewRecord builds a curated batch of rows with VPS weights alpha and beta.
// The caller releases the record.
func NewRecord(mem memory.Allocator, schema *arrow.Schema, rows []Row, alpha, beta float64) arrow.Record {
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	src := b.Field(0).(*array.StringBuilder)
	list := b.Field(1).(*array.ListBuilder)
	msg := list.ValueBuilder().(*array.StructBuilder)
	ability := b.Field(2).(*array.StringBuilder)
	rm := b.Field(3).(*array.StructBuilder)
	extra := b.Field(4).(*array.StructBuilder)
	for i := range rows {
		r := &rows[i]
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
		extra.FieldBuilder(1).(*array.Int64Builder).Append(r.Stats.Index)
		extra.FieldBuilder(2).(*array.StringBuilder).Append(r.Prompt.Answer)
		extra.FieldBuilder(3).(*array.StringBuilder).Append(r.Prompt.Prompt)
		extra.FieldBuilder(4).(*array.Uint64Builder).Append(r.Prompt.ID)
		extra.FieldBuilder(5).(*array.StringBuilder).Append(orEmptyObject(r.Prompt.Meta))
		b.Field(5).(*array.Uint64Builder).Append(r.Prompt.ID)
		b.Field(6).(*array.Float64Builder).Append(r.Stats.PassRate)
		b.Field(7).(*array.Float64Builder).Append(r.Stats.OVS)
		b.Field(8).(*array.Float64Builder).Append(r.Stats.TDS)
		b.Field(9).(*array.Float64Builder).Append(r.Stats.VPS(alpha, beta))
		b.Field(10).(*array.Int64Builder).Append(int64(r.Stats.Samples))
	}
	return b.NewRecord()
}

func orEmptyObject(s string) string {
	if s == "" {
		return "{}"
	}
	return s
}

// writeParquet writes rows to path atomically: into a temporary file in
// the same directory, fsynced, then renamed over path.
func writeParquet(path string, mem memory.Allocator, meta any, rows []Row, alpha, beta float64) error {
	mdJSON, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	schema := Schema(map[string]string{MetadataKey: string(mdJSON)})
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	w, err := data.NewRecordWriter(tmp, data.FormatParquet, schema, mem)
	if err != nil {
		tmp.Close()
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	const chunk = 4096
	for lo := 0; ; lo += chunk {
		hi := min(lo+chunk, len(rows))
		rec := NewRecord(mem, schema, rows[lo:hi], alpha, beta)
		err := w.Write(rec)
		rec.Release()
		if err != nil {
			w.Close()
			tmp.Close()
			return fmt.Errorf("curate: writing %s: %w", path, err)
		}
		if hi >= len(rows) {
			break
		}
	}
	if err := w.Close(); err != nil {
		tmp.Close()
		return fmt.Errorf("curate: writing %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("curate: %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("curate: %w", err)
	}
	syncDir(filepath.Dir(path))
	return nil
}

// syncDir makes a rename durable; failures are ignored because some file
// systems cannot sync directories.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
