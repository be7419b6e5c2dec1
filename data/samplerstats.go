package data

import (
	"fmt"
	"math"
	"sort"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// SamplerStatsKind is the value of MetaKeyBatchKind in the schema of the
// per-prompt sampler statistics table (sampler.arrow in every checkpoint).
const SamplerStatsKind = "sampler_stats"

// Column names of the sampler statistics table (ALGORITHMS §7, DESIGN §4).
// prompt_id is ColPromptID. The table is part of the public checkpoint format.
const (
	ColTimesSeen       = "times_seen"        // int64: groups observed
	ColSamplesSeen     = "samples_seen"      // int64: rollouts (binary outcomes) observed
	ColLastStep        = "last_step"         // int64: step of the latest observation
	ColPassRate        = "pass_rate"         // float64: pass rate of the latest observation
	ColPassRateHistory = "pass_rate_history" // list<float32>: latest pass rates, oldest first, bounded
	ColRewardCount     = "reward_count"      // int64: finite rewards in the running moments
	ColRewardMean      = "reward_mean"       // float64: running reward mean (Welford)
	ColRewardM2        = "reward_m2"         // float64: Welford's sum of squared deviations
	ColRewardVar       = "reward_var"        // float64: derived, reward_m2/(reward_count−1); 0 below 2
	ColOVS             = "ovs"               // float64: outcome variance score P(1−P)
	ColTDS             = "tds"               // float64: trajectory diversity score
	ColVPS             = "vps"               // float64: α·OVS + β·TDS
	ColSamplerWeight   = "weight"            // float64, nullable: EMA'd min-max weight; null before the first weighting
)

// SamplerStats is one row of the sampler statistics table: what the sampler
// knows about one prompt. The zero value is a prompt never observed.
type SamplerStats struct {
	PromptID        uint64
	TimesSeen       int64
	SamplesSeen     int64
	LastStep        int64
	PassRate        float64
	PassRateHistory []float32 // oldest first
	RewardCount     int64
	RewardMean      float64
	RewardM2        float64
	OVS             float64
	TDS             float64
	VPS             float64
	Weight          float64 // meaningful only when HasWeight
	HasWeight       bool    // false is stored as a null weight
}

// RewardVar returns the unbiased running variance of the rewards,
// RewardM2/(RewardCount−1), or 0 with fewer than two rewards.
func (s *SamplerStats) RewardVar() float64 {
	if s.RewardCount < 2 {
		return 0
	}
	return s.RewardM2 / float64(s.RewardCount-1)
}

func samplerStatsFields() []arrow.Field {
	f64 := arrow.PrimitiveTypes.Float64
	i64 := arrow.PrimitiveTypes.Int64
	return []arrow.Field{
		{Name: ColPromptID, Type: arrow.PrimitiveTypes.Uint64},
		{Name: ColTimesSeen, Type: i64},
		{Name: ColSamplesSeen, Type: i64},
		{Name: ColLastStep, Type: i64},
		{Name: ColPassRate, Type: f64},
		{Name: ColPassRateHistory, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)},
		{Name: ColRewardCount, Type: i64},
		{Name: ColRewardMean, Type: f64},
		{Name: ColRewardM2, Type: f64},
		{Name: ColRewardVar, Type: f64},
		{Name: ColOVS, Type: f64},
		{Name: ColTDS, Type: f64},
		{Name: ColVPS, Type: f64},
		{Name: ColSamplerWeight, Type: f64, Nullable: true},
	}
}

// SamplerStatsSchema returns a new schema of the sampler statistics table.
// Its metadata holds MetaKeySchemaVersion, MetaKeyBatchKind (SamplerStatsKind)
// and then the entries of extra in sorted key order (the sampler keeps its
// scalar state there); extra may not override the first two, which win.
func SamplerStatsSchema(extra map[string]string) *arrow.Schema {
	keys := []string{MetaKeySchemaVersion, MetaKeyBatchKind}
	vals := []string{SchemaVersion, SamplerStatsKind}
	names := make([]string, 0, len(extra))
	for k := range extra {
		if k != MetaKeySchemaVersion && k != MetaKeyBatchKind {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		keys = append(keys, k)
		vals = append(vals, extra[k])
	}
	md := arrow.NewMetadata(keys, vals)
	return arrow.NewSchema(samplerStatsFields(), &md)
}

// NewSamplerStatsRecord builds the statistics table of rows, in order, with
// SamplerStatsSchema(extra). The caller owns the returned record and must
// Release it. Cost: one pass over rows; all buffers come from mem.
func NewSamplerStatsRecord(mem memory.Allocator, rows []SamplerStats, extra map[string]string) arrow.Record {
	b := array.NewRecordBuilder(mem, SamplerStatsSchema(extra))
	defer b.Release()
	n := len(rows)
	ids := b.Field(0).(*array.Uint64Builder)
	ints := []*array.Int64Builder{
		b.Field(1).(*array.Int64Builder), b.Field(2).(*array.Int64Builder),
		b.Field(3).(*array.Int64Builder), b.Field(6).(*array.Int64Builder),
	}
	hist := b.Field(5).(*array.ListBuilder)
	histVals := hist.ValueBuilder().(*array.Float32Builder)
	floatCols := []int{4, 7, 8, 9, 10, 11, 12}
	ids.Reserve(n)
	for _, c := range ints {
		c.Reserve(n)
	}
	for _, c := range floatCols {
		b.Field(c).(*array.Float64Builder).Reserve(n)
	}
	for i := range rows {
		r := &rows[i]
		ids.UnsafeAppend(r.PromptID)
		for j, v := range []int64{r.TimesSeen, r.SamplesSeen, r.LastStep, r.RewardCount} {
			ints[j].UnsafeAppend(v)
		}
		hist.Append(true)
		histVals.AppendValues(r.PassRateHistory, nil)
		vals := [...]float64{r.PassRate, r.RewardMean, r.RewardM2, r.RewardVar(), r.OVS, r.TDS, r.VPS}
		for j, c := range floatCols {
			b.Field(c).(*array.Float64Builder).UnsafeAppend(vals[j])
		}
		w := b.Field(13).(*array.Float64Builder)
		if r.HasWeight {
			w.Append(r.Weight)
		} else {
			w.AppendNull()
		}
	}
	return b.NewRecord()
}

// SamplerStatsFromRecord reads the statistics table back. It checks the
// columns (names, types, order; ErrSchema), the schema version and kind, and
// that no column but weight holds nulls. The rows do not reference rec's
// buffers, so rec may be released afterwards. Errors name the row and column.
func SamplerStatsFromRecord(rec arrow.Record) ([]SamplerStats, error) {
	sc := rec.Schema()
	if err := ValidateSchema(sc, SamplerStatsSchema(nil)); err != nil {
		return nil, fmt.Errorf("data: sampler stats: %w", err)
	}
	md := sc.Metadata()
	if v, _ := md.GetValue(MetaKeySchemaVersion); v != SchemaVersion {
		return nil, fmt.Errorf("%w: sampler stats schema version %q, want %q", ErrSchema, v, SchemaVersion)
	}
	if k, _ := md.GetValue(MetaKeyBatchKind); k != SamplerStatsKind {
		return nil, fmt.Errorf("%w: batch kind %q, want %q", ErrSchema, k, SamplerStatsKind)
	}
	for c := 0; c < 13; c++ {
		if col := rec.Column(c); col.NullN() > 0 {
			return nil, fmt.Errorf("data: sampler stats column %q: %d nulls", sc.Field(c).Name, col.NullN())
		}
	}
	ids := rec.Column(0).(*array.Uint64)
	i64 := func(c int) *array.Int64 { return rec.Column(c).(*array.Int64) }
	f64 := func(c int) *array.Float64 { return rec.Column(c).(*array.Float64) }
	hist := rec.Column(5).(*array.List)
	histVals, ok := hist.ListValues().(*array.Float32)
	if !ok {
		return nil, fmt.Errorf("%w: column %q values are %s", ErrSchema, ColPassRateHistory, hist.ListValues().DataType())
	}
	if histVals.NullN() > 0 {
		return nil, fmt.Errorf("data: sampler stats column %q: null history entries", ColPassRateHistory)
	}
	weight := f64(13)
	rows := make([]SamplerStats, rec.NumRows())
	for i := range rows {
		lo, hi := hist.ValueOffsets(i)
		if lo < 0 || hi < lo || hi > int64(histVals.Len()) {
			return nil, fmt.Errorf("data: sampler stats row %d column %q: bad offsets [%d, %d)", i, ColPassRateHistory, lo, hi)
		}
		var h []float32
		if hi > lo {
			h = append([]float32(nil), histVals.Float32Values()[lo:hi]...)
		}
		rows[i] = SamplerStats{
			PromptID: ids.Value(i), TimesSeen: i64(1).Value(i), SamplesSeen: i64(2).Value(i),
			LastStep: i64(3).Value(i), PassRate: f64(4).Value(i), PassRateHistory: h,
			RewardCount: i64(6).Value(i), RewardMean: f64(7).Value(i), RewardM2: f64(8).Value(i),
			OVS: f64(10).Value(i), TDS: f64(11).Value(i), VPS: f64(12).Value(i),
			HasWeight: weight.IsValid(i),
		}
		if rows[i].HasWeight {
			rows[i].Weight = weight.Value(i)
		}
		if err := checkSamplerStatsRow(&rows[i]); err != nil {
			return nil, fmt.Errorf("data: sampler stats row %d: %w", i, err)
		}
	}
	return rows, nil
}

// checkSamplerStatsRow rejects values no sampler writes, so that a damaged
// checkpoint fails at load instead of steering sampling with NaNs.
func checkSamplerStatsRow(r *SamplerStats) error {
	if r.TimesSeen < 0 || r.SamplesSeen < 0 || r.RewardCount < 0 || r.RewardCount > r.SamplesSeen {
		return fmt.Errorf("column %q/%q/%q: inconsistent counts %d/%d/%d",
			ColTimesSeen, ColSamplesSeen, ColRewardCount, r.TimesSeen, r.SamplesSeen, r.RewardCount)
	}
	named := []struct {
		name string
		v    float64
	}{
		{ColPassRate, r.PassRate}, {ColRewardMean, r.RewardMean}, {ColRewardM2, r.RewardM2},
		{ColOVS, r.OVS}, {ColTDS, r.TDS}, {ColVPS, r.VPS}, {ColSamplerWeight, r.Weight},
	}
	for _, f := range named {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("column %q: non-finite value %v", f.name, f.v)
		}
	}
	if r.PassRate < 0 || r.PassRate > 1 || r.RewardM2 < 0 {
		return fmt.Errorf("column %q/%q: out of range %v/%v", ColPassRate, ColRewardM2, r.PassRate, r.RewardM2)
	}
	return nil
}
