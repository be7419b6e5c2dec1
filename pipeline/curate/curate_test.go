package curate

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/datatest"
	"github.com/rlpipe/rlpipe/sampling"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9+1e-9*math.Abs(b) }

func TestGroupStatsMatchesGoldenValues(t *testing.T) {
	s1, s2, s3 := []int32{1, 2, 3, 4}, []int32{1, 2, 3, 5}, []int32{7, 8, 9, 10}
	// Shift into the byte range so that no golden token is a control token.
	shift := func(s []int32) []int32 {
		out := make([]int32, len(s))
		for i, v := range s {
			out[i] = v + 10
		}
		return out
	}
	cases := []struct {
		name    string
		correct []bool
		tokens  [][]int32
		pass    float64
		ovs     float64
		tds     float64
	}{
		{"no correct sample gives zero variance", []bool{false, false, false, false, false, false, false, false}, nil, 0, 0, 0},
		{"one of eight gives OVS 0.109375", []bool{true, false, false, false, false, false, false, false}, nil, 0.125, 0.109375, 0},
		{"three of eight gives OVS 0.234375", []bool{true, true, true, false, false, false, false, false}, nil, 0.375, 0.234375, 0},
		{"half right gives the maximum 0.25", []bool{true, false}, [][]int32{shift(s1), shift(s2)}, 0.5, 0.25, 1 - 0.6299605249},
		{"three sequences give 1 - 0.4199736833", []bool{true, true, true}, [][]int32{shift(s1), shift(s2), shift(s3)}, 1, 0, 1 - 0.4199736833},
		{"one sample has no diversity", []bool{true}, [][]int32{shift(s1)}, 1, 0, 0},
		{"identical completions have TDS 0", []bool{false, true}, [][]int32{shift(s1), shift(s1)}, 0.5, 0.25, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := groupStats(3, 42, tc.correct, tc.tokens)
			if s.Index != 3 || s.PromptID != 42 || s.Samples != len(tc.correct) {
				t.Fatalf("identity fields %+v", s)
			}
			if !near(s.PassRate, tc.pass) || !near(s.OVS, tc.ovs) || !near(s.TDS, tc.tds) {
				t.Fatalf("got P %v OVS %v TDS %v; want %v %v %v", s.PassRate, s.OVS, s.TDS, tc.pass, tc.ovs, tc.tds)
			}
		})
	}
	t.Run("control tokens do not count towards diversity", func(t *testing.T) {
		a, b := shift(s1), shift(s2)
		plain := groupStats(0, 1, []bool{true, false}, [][]int32{a, b})
		padded := groupStats(0, 1, []bool{true, false}, [][]int32{append([]int32{1}, append(a, 2, 0, 0)...), append(b, 2)})
		if plain.TDS != padded.TDS {
			t.Fatalf("TDS %v with control tokens, %v without", padded.TDS, plain.TDS)
		}
	})
	t.Run("VPS weighs OVS and TDS as in MMR1", func(t *testing.T) {
		pass, tds := []float64{0, .25, .5, 1}, []float64{.3, .5, .4, .2}
		want := []float64{0.06, 0.25, 0.28, 0.04}
		for i := range pass {
			s := Stats{OVS: sampling.OVS(pass[i]), TDS: tds[i]}
			if got := s.VPS(DefaultAlpha, DefaultBeta); !near(got, want[i]) {
				t.Errorf("VPS(P=%v, TDS=%v) = %v, want %v", pass[i], tds[i], got, want[i])
			}
		}
	})
}

func TestConfigValidate(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"a dataset alone is enough", Config{Dataset: "gsm8k:test"}, true},
		{"an empty dataset is refused", Config{}, false},
		{"a negative limit is refused", Config{Dataset: "x", Limit: -1}, false},
		{"a negative sample count is refused", Config{Dataset: "x", Samples: -2}, false},
		{"a negative temperature is refused", Config{Dataset: "x", Temperature: -1}, false},
		{"top-p above one is refused", Config{Dataset: "x", TopP: 1.5}, false},
		{"a negative alpha is refused", Config{Dataset: "x", Alpha: -0.1}, false},
		{"an inverted pass range is refused", Config{Dataset: "x", Filter: true, MinPass: 0.8, MaxPass: 0.2}, false},
		{"a pass range within [0,1] is fine", Config{Dataset: "x", Filter: true, MinPass: 0, MaxPass: 0}, true},
		{"an unknown reward is refused", Config{Dataset: "x", Reward: "nosuchreward"}, false},
		{"an unknown template is refused", Config{Dataset: "x", Template: "fancy"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrConfig) {
				t.Fatalf("error %v does not wrap ErrConfig", err)
			}
		})
	}
}

func TestCuratedParquetLoadsBackAsDataset(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ds := writeDataset(t, 11)
	out := filepath.Join(t.TempDir(), "curated.parquet")
	cfg := Config{Dataset: ds, Samples: 6, Batch: 4, Seed: 9}
	res, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out, Allocator: mem})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 11 || res.Written != 11 || res.Generated != 11 || res.Samples != 66 {
		t.Fatalf("result %+v", res)
	}
	orig := datatest.ReadSpec(t, ds)
	back := datatest.ReadSpec(t, out)
	if len(back) != len(orig) {
		t.Fatalf("read back %d rows, want %d", len(back), len(orig))
	}
	for i := range orig {
		o, b := orig[i], back[i]
		if b.ID != o.ID || b.Prompt != o.Prompt || b.Answer != o.Answer || b.Dataset != o.Dataset {
			t.Fatalf("row %d: read back %+v, want %+v", i, b, o)
		}
	}
	checkStatColumns(t, out, cfg.withDefaults())
}

// checkStatColumns compares the file's statistic columns with the sidecar
// and checks the column types against verl's layout.
func checkStatColumns(t *testing.T, out string, cfg Config) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	raw, err := os.ReadFile(out + SidecarSuffix)
	if err != nil {
		t.Fatal(err)
	}
	done, _, err := parseSidecar(out, raw, Header{Version: sidecarVersion, Model: "fake", Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	rr, err := data.OpenRecords(out, mem, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rr.Close()
	for _, f := range data.CuratedSchema(nil).Fields() {
		idx := rr.Schema().FieldIndices(f.Name)
		if len(idx) != 1 || !arrow.TypeEqual(rr.Schema().Field(idx[0]).Type, f.Type) {
			t.Fatalf("column %s: got %v, want %v", f.Name, rr.Schema(), f.Type)
		}
	}
	rec, err := rr.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Release()
	col := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
	extra := col(data.ColExtraInfo).(*array.Struct)
	index := extra.Field(1).(*array.Int64)
	pass, ovs, tds, vps := col(data.ColPassRate).(*array.Float64), col(data.ColOVS).(*array.Float64), col(data.ColTDS).(*array.Float64), col(data.ColVPS).(*array.Float64)
	samples := col(data.ColSamples).(*array.Int64)
	varied := false
	for i := 0; i < int(rec.NumRows()); i++ {
		st, ok := done[index.Value(i)]
		if !ok {
			t.Fatalf("row %d (index %d) is not in the sidecar", i, index.Value(i))
		}
		if pass.Value(i) != st.PassRate || ovs.Value(i) != st.OVS || tds.Value(i) != st.TDS ||
			vps.Value(i) != st.VPS(cfg.Alpha, cfg.Beta) || samples.Value(i) != int64(cfg.Samples) {
			t.Fatalf("row %d: statistics differ from the sidecar's %+v", i, st)
		}
		if !near(st.OVS, st.PassRate*(1-st.PassRate)) || st.TDS <= 0 {
			t.Fatalf("row %d: inconsistent statistics %+v", i, st)
		}
		varied = varied || st.PassRate != pass.Value(0)
	}
	if !varied {
		t.Fatal("every row has the same pass rate; the test data prove little")
	}
}

func TestResumeAfterFailureMatchesUninterruptedRun(t *testing.T) {
	ds := writeDataset(t, 13)
	cfg := Config{Dataset: ds, Samples: 5, Batch: 3, Workers: 2, Seed: 4}
	dir := t.TempDir()
	full, cut := filepath.Join(dir, "full.parquet"), filepath.Join(dir, "cut.parquet")
	if _, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: full}); err != nil {
		t.Fatal(err)
	}
	// Two batches of two calls each succeed, the third batch fails.
	_, err := Run(context.Background(), cfg, fakeSource(&fakeGen{failAfter: 5}), Options{Out: cut})
	if !errors.Is(err, errFake) || exists(cut) {
		t.Fatalf("interrupted run: err %v, output exists %v", err, exists(cut))
	}
	// A kill during a write leaves a partial line; the resume drops it.
	f, _ := os.OpenFile(cut+SidecarSuffix, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"index":12,"prompt_id":1,"sam`)
	f.Close()
	g := &fakeGen{}
	res, err := Run(context.Background(), cfg, fakeSource(g), Options{Out: cut})
	if err != nil {
		t.Fatal(err)
	}
	if res.Resumed != 6 || res.Generated != 7 || res.Rows != 13 {
		t.Fatalf("resume result %+v, want 6 resumed and 7 generated", res)
	}
	a, b := parquetRows(t, full), parquetRows(t, cut)
	if strings.Join(a, "\n") != strings.Join(b, "\n") {
		t.Fatalf("resumed file differs from the uninterrupted one:\n%s\nvs\n%s", strings.Join(b, "\n"), strings.Join(a, "\n"))
	}
	lines := bytes.Count(mustRead(t, cut+SidecarSuffix), []byte{'\n'})
	if lines != 14 {
		t.Fatalf("sidecar has %d lines, want a header and 13 rows", lines)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBatchingAndWorkersDoNotChangeStatistics(t *testing.T) {
	ds := writeDataset(t, 9)
	dir := t.TempDir()
	var want []string
	for i, c := range []struct{ batch, workers int }{{1, 1}, {4, 3}, {9, 2}, {20, 8}} {
		out := filepath.Join(dir, "out"+string(rune('a'+i))+".parquet")
		cfg := Config{Dataset: ds, Samples: 4, Batch: c.batch, Workers: c.workers}
		if _, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out}); err != nil {
			t.Fatal(err)
		}
		got := parquetRows(t, out)
		if i == 0 {
			want = got
		} else if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("batch %d workers %d changed the rows", c.batch, c.workers)
		}
	}
}

func TestFilterRewritesFromTheSidecarWithoutRollouts(t *testing.T) {
	ds := writeDataset(t, 15)
	out := filepath.Join(t.TempDir(), "c.parquet")
	cfg := Config{Dataset: ds, Samples: 3}
	if _, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out}); err != nil {
		t.Fatal(err)
	}
	all := parquetRows(t, out)
	cfg.Filter, cfg.MinPass, cfg.MaxPass = true, 0.3, 0.7
	g := &fakeGen{}
	res, err := Run(context.Background(), cfg, fakeSource(g), Options{Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if g.calls.Load() != 0 || res.Resumed != 15 {
		t.Fatalf("refiltering rolled out again (%d calls, %+v)", g.calls.Load(), res)
	}
	kept := parquetRows(t, out)
	want := 0
	for _, r := range all {
		if strings.Contains(r, `"pass_rate":0.3333333333333333`) || strings.Contains(r, `"pass_rate":0.6666666666666666`) {
			want++
		}
	}
	if len(kept) != want || want == 0 || want == len(all) || res.Written != want {
		t.Fatalf("kept %d rows (result %d), want %d of %d", len(kept), res.Written, want, len(all))
	}
}

func TestResumeRefusesChangedSettingsOrData(t *testing.T) {
	ds := writeDataset(t, 6)
	out := filepath.Join(t.TempDir(), "c.parquet")
	cfg := Config{Dataset: ds, Samples: 3, Batch: 2}
	if _, err := Run(context.Background(), cfg, fakeSource(&fakeGen{failAfter: 2}), Options{Out: out}); !errors.Is(err, errFake) {
		t.Fatal(err)
	}
	t.Run("other sample count", func(t *testing.T) {
		c := cfg
		c.Samples = 4
		if _, err := Run(context.Background(), c, fakeSource(&fakeGen{}), Options{Out: out}); !errors.Is(err, ErrResume) {
			t.Fatalf("err %v, want ErrResume", err)
		}
	})
	t.Run("other model", func(t *testing.T) {
		src := fakeSource(&fakeGen{})
		src.Model = "another"
		if _, err := Run(context.Background(), cfg, src, Options{Out: out}); !errors.Is(err, ErrResume) {
			t.Fatalf("err %v, want ErrResume", err)
		}
	})
	t.Run("a changed dataset row", func(t *testing.T) {
		ps := datatest.ReadSpec(t, ds)
		ps[0].ID++
		if err := data.WritePromptsFile(ds, ps); err != nil {
			t.Fatal(err)
		}
		_, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out})
		if !errors.Is(err, ErrResume) || !strings.Contains(err.Error(), "row 0") {
			t.Fatalf("err %v, want ErrResume naming row 0", err)
		}
	})
}

func TestPromptsWithoutSamplesAreRetriedOnRerun(t *testing.T) {
	ds := writeDataset(t, 5)
	ps := datatest.ReadSpec(t, ds)
	out := filepath.Join(t.TempDir(), "c.parquet")
	cfg := Config{Dataset: ds, Samples: 2}
	_, err := Run(context.Background(), cfg, fakeSource(&fakeGen{lose: map[uint64]bool{ps[2].ID: true}}), Options{Out: out})
	if !errors.Is(err, ErrIncomplete) || exists(out) {
		t.Fatalf("err %v (output written: %v), want ErrIncomplete and no file", err, exists(out))
	}
	res, err := Run(context.Background(), cfg, fakeSource(&fakeGen{}), Options{Out: out})
	if err != nil || res.Generated != 1 || res.Resumed != 4 || len(parquetRows(t, out)) != 5 {
		t.Fatalf("rerun: %v %+v", err, res)
	}
}

func TestPromptsLongerThanTheContextAreRefused(t *testing.T) {
	ds := writeDataset(t, 3)
	src := fakeSource(&fakeGen{})
	src.Context, src.Codec = 4, byteCodec{}
	_, err := Run(context.Background(), Config{Dataset: ds}, src, Options{Out: filepath.Join(t.TempDir(), "c.parquet")})
	if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "row 0") {
		t.Fatalf("err %v, want ErrConfig naming row 0", err)
	}
}

type byteCodec struct{}

func (byteCodec) Encode(s string) []int32 { return make([]int32, len(s)) }
func (byteCodec) Decode(ids []int32) string {
	return strings.Repeat("x", len(ids))
}
