package curate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/datatest"
)

// verlAgentSchema is the layout of verl's multi-turn / agent datasets
// (examples/data_preprocess/gsm8k_multiturn_w_tool.py): a system message
// before the user's, extra_info with the split, tools_kwargs and
// interaction_kwargs, and a top-level agent_name.
func verlAgentSchema() *arrow.Schema {
	str := arrow.BinaryTypes.String
	f := func(name string, t arrow.DataType) arrow.Field {
		return arrow.Field{Name: name, Type: t, Nullable: true}
	}
	msg := arrow.StructOf(f("content", str), f("role", str))
	tools := arrow.StructOf(f("calc_gsm8k_reward", arrow.StructOf(f("create_kwargs", arrow.StructOf(f("ground_truth", str))))))
	inter := arrow.StructOf(f("ground_truth", str), f("name", str), f("query", str))
	extra := arrow.StructOf(f("answer", str), f("index", arrow.PrimitiveTypes.Int64), f("interaction_kwargs", inter),
		f("need_tools_kwargs", arrow.FixedWidthTypes.Boolean), f("question", str), f("split", str), f("tools_kwargs", tools))
	md := arrow.NewMetadata([]string{"huggingface"}, []string{`{"info": "kept"}`})
	return arrow.NewSchema([]arrow.Field{
		f("data_source", str), f("prompt", arrow.ListOf(msg)), f("ability", str),
		f("reward_model", arrow.StructOf(f("ground_truth", str), f("style", str))),
		f("extra_info", extra), f("agent_name", str),
	}, &md)
}

// writeVerlAgentFile writes n such rows as Parquet.
func writeVerlAgentFile(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := 0; i < n; i++ {
		q, a := fmt.Sprintf("What is %d + %d?", i, 2*i), fmt.Sprint(3*i)
		fmt.Fprintf(&b, `{"data_source": "openai/gsm8k", "prompt": [{"role": "system", "content": "You are a math expert."}, {"role": "user", "content": %q}],
"ability": "math", "reward_model": {"ground_truth": %q, "style": "rule"},
"extra_info": {"answer": "#### %s", "index": %d, "interaction_kwargs": {"ground_truth": %q, "name": "gsm8k", "query": %q},
"need_tools_kwargs": true, "question": %q, "split": "train", "tools_kwargs": {"calc_gsm8k_reward": {"create_kwargs": {"ground_truth": %q}}}},
"agent_name": "tool_agent"}`, q, a, a, i, a, q, q, a)
		b.WriteByte('\n')
	}
	rec, _, err := array.RecordFromJSON(memory.DefaultAllocator, verlAgentSchema(), strings.NewReader("["+strings.ReplaceAll(strings.TrimSpace(b.String()), "}\n{", "},{")+"]"))
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	path := filepath.Join(t.TempDir(), "gsm8k_agent.parquet")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := data.NewRecordWriter(f, data.FormatParquet, rec.Schema(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return path
}

// TestVerlColumnsRoundTripUnchanged curates a verl agent dataset with the
// pass-rate filter on: every kept row's input columns, the system message
// and the agent fields included, must be in the output unchanged, followed
// by rlpipe's statistic columns; a second curation of the output replaces
// those columns rather than adding more.
func TestVerlColumnsRoundTripUnchanged(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	in := writeVerlAgentFile(t, 30)
	out := filepath.Join(t.TempDir(), "curated.parquet")
	cfg := Config{Dataset: in, Samples: 3, Filter: true, MinPass: 0.3, MaxPass: 1}
	res, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if res.Written == 0 || res.Written == res.Rows {
		t.Fatalf("the filter kept %d of %d rows; want some but not all", res.Written, res.Rows)
	}
	src, got := datatest.FirstRecord(t, in, mem), datatest.FirstRecord(t, out, mem)
	defer src.Release()
	defer got.Release()
	nIn := int(src.NumCols())
	if int(got.NumCols()) != nIn+statColumns || got.NumRows() != int64(res.Written) {
		t.Fatalf("output has %d columns and %d rows; want %d and %d", got.NumCols(), got.NumRows(), nIn+statColumns, res.Written)
	}
	rr, err := data.OpenRecords(out, mem, 0)
	if err != nil {
		t.Fatal(err)
	}
	md := rr.Schema().Metadata()
	rr.Close()
	if v, ok := md.GetValue("huggingface"); !ok || v != `{"info": "kept"}` || md.FindKey(MetadataKey) < 0 {
		t.Errorf("output schema metadata %v; want the input's and %s", md, MetadataKey)
	}
	index := got.Column(4).(*array.Struct).Field(1).(*array.Int64)
	for r := 0; r < int(got.NumRows()); r++ {
		i := index.Value(r)
		for c := 0; c < nIn; c++ {
			want := array.NewSlice(src.Column(c), i, i+1)
			have := array.NewSlice(got.Column(c), int64(r), int64(r)+1)
			if got.Schema().Field(c).Name != src.Schema().Field(c).Name || !array.Equal(want, have) {
				t.Errorf("row %d (input %d) column %s: got %v, want %v", r, i, src.Schema().Field(c).Name, have, want)
			}
			want.Release()
			have.Release()
		}
	}
	again := filepath.Join(t.TempDir(), "again.parquet")
	if _, err := Run(context.Background(), Config{Dataset: out, Samples: 3}, fakeSource(&fakeGen{}), Options{Out: again, Allocator: mem}); err != nil {
		t.Fatal(err)
	}
	twice := datatest.FirstRecord(t, again, mem)
	defer twice.Release()
	if twice.NumCols() != got.NumCols() {
		t.Errorf("re-curating added columns: %v", twice.Schema())
	}
}
