package data

import (
	"bytes"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

func sampleSamplerStats() []SamplerStats {
	return []SamplerStats{
		{
			PromptID: 1<<63 + 7, TimesSeen: 3, SamplesSeen: 24, LastStep: 41, PassRate: 0.375,
			PassRateHistory: []float32{0, 0.25, 0.375}, RewardCount: 23, RewardMean: 0.4125, RewardM2: 5.25,
			OVS: 0.234375, TDS: 0.6, VPS: 0.3075, Weight: 0.875, HasWeight: true,
		},
		{PromptID: 2, TimesSeen: 1, SamplesSeen: 1, PassRate: 1, PassRateHistory: []float32{1}, RewardCount: 1, RewardMean: 1},
		{PromptID: 3}, // observed never: empty history, null weight
	}
}

func TestSamplerStatsRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := sampleSamplerStats()
	extra := map[string]string{"z.key": "2", "a.key": "1", MetaKeySchemaVersion: "bogus"}

	rec := NewSamplerStatsRecord(mem, rows, extra)
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	rec.Release()

	r, err := ipc.NewReader(&buf, ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	if !r.Next() {
		t.Fatalf("no record: %v", r.Err())
	}
	back := r.Record()
	md := back.Schema().Metadata()
	if v, _ := md.GetValue(MetaKeySchemaVersion); v != SchemaVersion {
		t.Errorf("version %q survived as %q; extra must not override it", SchemaVersion, v)
	}
	if md.Keys()[2] != "a.key" || md.Keys()[3] != "z.key" {
		t.Errorf("extra keys not sorted after the fixed ones: %v", md.Keys())
	}
	got, err := SamplerStatsFromRecord(back)
	if err != nil {
		t.Fatal(err)
	}
	rows[2].PassRateHistory = nil // an empty list reads back as nil
	if !reflect.DeepEqual(got, rows) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rows)
	}
	if v := back.Column(9).(*array.Float64).Value(0); math.Abs(v-5.25/22) > 1e-15 {
		t.Errorf("reward_var = %v, want %v", v, 5.25/22)
	}
}

func TestSamplerStatsFromRecordRejects(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	nan := sampleSamplerStats()
	nan[0].TDS = math.NaN()
	badCounts := sampleSamplerStats()
	badCounts[1].RewardCount = 5

	cases := []struct {
		name string
		rec  func() arrow.Record
	}{
		{"a record of another schema is refused", func() arrow.Record {
			return array.NewRecordBuilder(mem, PromptsSchema()).NewRecord()
		}},
		{"a non-finite statistic is refused", func() arrow.Record { return NewSamplerStatsRecord(mem, nan, nil) }},
		{"more rewards than samples are refused", func() arrow.Record { return NewSamplerStatsRecord(mem, badCounts, nil) }},
		{"a wrong batch kind is refused", func() arrow.Record {
			good := NewSamplerStatsRecord(mem, sampleSamplerStats(), nil)
			defer good.Release()
			md := arrow.NewMetadata([]string{MetaKeySchemaVersion, MetaKeyBatchKind}, []string{SchemaVersion, "train"})
			sc := arrow.NewSchema(good.Schema().Fields(), &md)
			return array.NewRecord(sc, good.Columns(), good.NumRows())
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := tc.rec()
			defer rec.Release()
			if _, err := SamplerStatsFromRecord(rec); err == nil {
				t.Fatal("no error")
			} else if tc.name == cases[0].name && !errors.Is(err, ErrSchema) {
				t.Errorf("error %v does not wrap ErrSchema", err)
			}
		})
	}
}
