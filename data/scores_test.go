package data

import (
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

func fieldNames(s *arrow.Schema) []string {
	var names []string
	for _, f := range s.Fields() {
		names = append(names, f.Name)
	}
	return names
}

func TestWithScoresAppendsAndReplacesScoredColumns(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	base := NewCompletionRowsRecord(mem, []CompletionRow{
		{Prompt: "p", Completion: "c0", Answer: "1", Meta: "{}", CompletionTokens: 3},
		{Completion: "c1"},
	})
	defer base.Release()
	first := WithScores(mem, base, []Score{
		{Reward: 1, RewardParts: map[string]float64{"z": 1, "a": 2}},
		{RewardError: "timed out"},
	})
	defer first.Release()
	again := WithScores(mem, first, []Score{{Reward: 0.5}, {Reward: 0.25, RewardParts: map[string]float64{"m": 3}}})
	defer again.Release()
	cases := []struct {
		name    string
		rec     arrow.Record
		rewards []float64
		keys    []string
		errs    []string // "<null>" for null
	}{
		{"scores follow the input columns with sorted part keys", first, []float64{1, 0}, []string{"a", "z"}, []string{"<null>", "timed out"}},
		{"re-scoring replaces the old scores", again, []float64{0.5, 0.25}, []string{"m"}, []string{"<null>", "<null>"}},
	}
	wantNames := []string{ColPrompt, ColCompletion, ColAnswer, ColMeta, ColCompletionTokens, ColReward, ColRewardParts, ColRewardError}
	wantScored := ScoredSchema().Fields()[len(rolloutFields()):]
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.rec.Schema()
			if got := fieldNames(s); !reflect.DeepEqual(got, wantNames) || s.HasMetadata() {
				t.Fatalf("schema %v, want columns %v and no metadata", s, wantNames)
			}
			for i, w := range wantScored {
				if err := compareField(s.Field(5+i), w); err != nil {
					t.Errorf("scored column %d: %v", i, err)
				}
			}
			if got := tc.rec.Column(5).(*array.Float64).Float64Values(); !reflect.DeepEqual(got, tc.rewards) {
				t.Errorf("rewards %v, want %v", got, tc.rewards)
			}
			parts := tc.rec.Column(6).(*array.Map)
			keys := parts.Keys().(*array.String)
			var gotKeys []string
			for i := 0; i < keys.Len(); i++ {
				gotKeys = append(gotKeys, keys.Value(i))
			}
			if !reflect.DeepEqual(gotKeys, tc.keys) {
				t.Errorf("part keys %v, want %v", gotKeys, tc.keys)
			}
			errs := tc.rec.Column(7).(*array.String)
			for i, w := range tc.errs {
				got := "<null>"
				if errs.IsValid(i) {
					got = errs.Value(i)
				}
				if got != w {
					t.Errorf("row %d reward_error %q, want %q", i, got, w)
				}
			}
		})
	}
}

func TestWithScoresPanicsOnAMissingScore(t *testing.T) {
	base := NewCompletionRowsRecord(nil, []CompletionRow{{Completion: "c"}})
	defer base.Release()
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for 0 scores of 1 row")
		}
	}()
	WithScores(nil, base, nil).Release()
}
