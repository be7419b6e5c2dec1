package data

import (
	"errors"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

func sampleTrainRows(n int) []TrainRow {
	rows := make([]TrainRow, n)
	for i := range rows {
		r := &rows[i]
		r.PromptID = PromptID("arithmetic", string(rune('a'+i%26)))
		r.Dataset = []string{"arithmetic", "gsm8k"}[i%2]
		r.Prompt = "12+345="
		r.Answer = "357"
		r.Meta = `{"k":1}`
		r.SampleIdx = int32(i % 4)
		r.Mode = uint8(i % 2)
		r.PolicyVersion = int64(i / 4)
		r.PromptTokens = []int32{49, 50, 43}
		for j := 0; j < i%5; j++ {
			r.CompletionTokens = append(r.CompletionTokens, int32(i+j))
		}
		if i%3 != 0 {
			r.Logprobs = make([]float32, len(r.CompletionTokens))
			for j := range r.Logprobs {
				r.Logprobs[j] = -float32(j) / 4
			}
		}
		r.Completion = "<think></think><answer>357</answer>"
		r.FinishReason = []string{FinishStop, FinishLength}[i%2]
		r.Reward = float64(i%2) * 0.5
		if i%2 == 1 {
			r.RewardParts = map[string]float64{"correct": 1, "format": 0.5}
		}
		if i%4 == 3 {
			r.RewardError = "timeout"
		}
		r.Advantage, r.GroupMean, r.GroupStd, r.Keep = float32(i)-1.5, 0.25, 0.5, i%3 != 1
	}
	return rows
}

func TestBatchRecordsRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	train := sampleTrainRows(10)
	scored := make([]Scored, len(train))
	rollouts := make([]Rollout, len(train))
	prompts := make([]Prompt, len(train))
	for i, r := range train {
		scored[i], rollouts[i] = r.Scored, r.Rollout
		prompts[i] = Prompt{ID: r.PromptID, Dataset: r.Dataset, Prompt: r.Prompt, Answer: r.Answer, Meta: r.Meta}
	}
	cases := []struct {
		name   string
		build  func() arrow.Record
		schema *arrow.Schema
		back   func(arrow.Record) (any, error)
		want   any
	}{
		{"prompts survive a round trip", func() arrow.Record { return NewPromptsRecord(mem, prompts) }, PromptsSchema(),
			func(r arrow.Record) (any, error) { return PromptsFromRecord(r) }, prompts},
		{"rollouts survive a round trip with null logprobs", func() arrow.Record { return NewRolloutsRecord(mem, rollouts) }, RolloutsSchema(),
			func(r arrow.Record) (any, error) { return RolloutsFromRecord(r) }, rollouts},
		{"scored rows keep reward parts and errors", func() arrow.Record { return NewScoredRecord(mem, scored) }, ScoredSchema(),
			func(r arrow.Record) (any, error) { return ScoredFromRecord(r) }, scored},
		{"train rows keep advantages and keep flags", func() arrow.Record { return NewTrainRecord(mem, train) }, TrainSchema(),
			func(r arrow.Record) (any, error) { return TrainFromRecord(r) }, train},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.build()
			defer rec.Release()
			if err := ValidateRecord(rec, tc.schema); err != nil {
				t.Fatal(err)
			}
			if v, _ := rec.Schema().Metadata().GetValue(MetaKeySchemaVersion); v != SchemaVersion {
				t.Errorf("schema version %q, want %q", v, SchemaVersion)
			}
			got, err := tc.back(rec)
			if err != nil {
				t.Fatal(err)
			}
			gv, wv := reflect.ValueOf(got), reflect.ValueOf(tc.want)
			if gv.Len() != wv.Len() {
				t.Fatalf("got %d rows, want %d", gv.Len(), wv.Len())
			}
			for i := 0; i < gv.Len(); i++ {
				if !reflect.DeepEqual(gv.Index(i).Interface(), wv.Index(i).Interface()) {
					t.Fatalf("row %d differs:\n got %+v\nwant %+v", i, gv.Index(i), wv.Index(i))
				}
			}
		})
	}
}

func TestSlicedRecordConverts(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := sampleTrainRows(9)
	rec := NewTrainRecord(mem, rows)
	defer rec.Release()
	sl := rec.NewSlice(3, 7)
	defer sl.Release()
	got, err := TrainFromRecord(sl)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, rows[3:7]) {
		t.Errorf("slice rows differ:\n got %+v\nwant %+v", got, rows[3:7])
	}
}

func TestEmptyMetaBecomesEmptyObject(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := NewPromptsRecord(mem, []Prompt{{ID: 1, Dataset: "d", Prompt: "p", Answer: "a"}})
	defer rec.Release()
	got, err := PromptsFromRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Meta != "{}" {
		t.Errorf("meta %q, want {}", got[0].Meta)
	}
}

func TestValidateSchema(t *testing.T) {
	retyped := arrow.NewSchema(append(promptFields()[:4], arrow.Field{Name: ColMeta, Type: arrow.PrimitiveTypes.Int64}), nil)
	renamed := arrow.NewSchema(append(promptFields()[:4], arrow.Field{Name: "extra", Type: arrow.BinaryTypes.String}), nil)
	nullable := promptFields()
	nullable[2].Nullable = true
	cases := []struct {
		name    string
		got     *arrow.Schema
		want    *arrow.Schema
		wantErr bool
	}{
		{"the same schema validates", TrainSchema(), TrainSchema(), false},
		{"metadata is ignored", arrow.NewSchema(promptFields(), nil), PromptsSchema(), false},
		{"a prompts schema is not a rollouts schema", PromptsSchema(), RolloutsSchema(), true},
		{"a retyped column fails", retyped, PromptsSchema(), true},
		{"a renamed column fails", renamed, PromptsSchema(), true},
		{"a nullable column fails", arrow.NewSchema(nullable, nil), PromptsSchema(), true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateSchema(tc.got, tc.want)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrSchema) {
				t.Errorf("error %v does not wrap ErrSchema", err)
			}
		})
	}
}

func TestFromRecordRejectsWrongBatch(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := NewPromptsRecord(mem, []Prompt{{ID: 1, Dataset: "d"}})
	defer rec.Release()
	if _, err := RolloutsFromRecord(rec); !errors.Is(err, ErrSchema) {
		t.Errorf("RolloutsFromRecord(prompts) err = %v, want ErrSchema", err)
	}
}

func TestPromptIDIsStable(t *testing.T) {
	// FNV-1a 64 of "gsm8k\x00test:1", fixed forever: checkpoints key on it.
	if got, want := PromptID("gsm8k", "test:1"), PromptID("gsm8k", "test:1"); got != want {
		t.Fatal("PromptID is not deterministic")
	}
	if PromptID("ab", "c") == PromptID("a", "bc") {
		t.Error("the separator does not separate dataset and key")
	}
	if got := PromptID("", ""); got != 0xaf63bd4c8601b7df {
		t.Errorf("PromptID(\"\",\"\") = %#x, want FNV-1a of a zero byte 0xaf63bd4c8601b7df", got)
	}
}
