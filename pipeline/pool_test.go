package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"go.uber.org/goleak"
)

// testSchema is a tiny schema of our own for records flowing through stages.
var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "text", Type: arrow.BinaryTypes.String},
}, nil)

// makeRecord builds a 3-row record whose ids start at 3*n.
func makeRecord(mem memory.Allocator, n int64) arrow.Record {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := int64(0); i < 3; i++ {
		b.Field(0).(*array.Int64Builder).Append(3*n + i)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row-%d", 3*n+i))
	}
	return b.NewRecord()
}

// jitter sleeps a deterministic, item-dependent time so that workers finish
// out of order.
func jitter(n int64) {
	time.Sleep(time.Duration((uint64(n)*2654435761)%5) * 50 * time.Microsecond)
}

// transform returns a new record with ids negated and text upper-cased; it
// releases its input on every path, as a pool function must.
func transform(mem memory.Allocator, failOn func(int64) bool) func(context.Context, arrow.Record) (arrow.Record, error) {
	return func(ctx context.Context, rec arrow.Record) (arrow.Record, error) {
		defer rec.Release()
		ids := rec.Column(0).(*array.Int64)
		jitter(ids.Value(0))
		if failOn != nil && failOn(ids.Value(0)/3) {
			return nil, fmt.Errorf("record %d: refused", ids.Value(0)/3)
		}
		b := array.NewRecordBuilder(mem, testSchema)
		defer b.Release()
		texts := rec.Column(1).(*array.String)
		for i := 0; i < ids.Len(); i++ {
			b.Field(0).(*array.Int64Builder).Append(-ids.Value(i))
			b.Field(1).(*array.StringBuilder).Append(strings.ToUpper(texts.Value(i)))
		}
		return b.NewRecord(), nil
	}
}

// recordSource lazily builds n records (n < 0: forever).
func recordSource(mem memory.Allocator, n int64) Source[arrow.Record] {
	var i int64
	return FromFunc(func(context.Context) (arrow.Record, bool, error) {
		if n >= 0 && i >= n {
			return nil, false, nil
		}
		i++
		return makeRecord(mem, i-1), true, nil
	})
}

// runRecords runs source → pool(workers) → passthrough → sink and returns
// the rows seen by the sink as "id:text" strings, plus the graph and error.
func runRecords(t *testing.T, ctx context.Context, mem memory.Allocator, n int64, cfg PoolConfig, failOn func(int64) bool, sink func(arrow.Record) error) (*Graph, error) {
	t.Helper()
	g := NewGraph(WithCapacity(2))
	src := AddSource(g, "source", recordSource(mem, n))
	p := AddStage(g, "pool", src, Ordered(transform(mem, failOn), cfg))
	pass := AddStage(g, "pass", p, Map(func(_ context.Context, r arrow.Record) (arrow.Record, error) { return r, nil }))
	AddSink(g, "sink", pass, ForEach(func(_ context.Context, r arrow.Record) error {
		defer r.Release()
		return sink(r)
	}))
	return g, g.Run(ctx)
}

func rowsOf(r arrow.Record) []string {
	ids, texts := r.Column(0).(*array.Int64), r.Column(1).(*array.String)
	out := make([]string, ids.Len())
	for i := range out {
		out[i] = fmt.Sprintf("%d:%s", ids.Value(i), texts.Value(i))
	}
	return out
}

func TestOrderedOutputDoesNotDependOnWorkers(t *testing.T) {
	defer goleak.VerifyNone(t)
	failOn := func(n int64) bool { return n%7 == 3 }
	collect := func(workers int, drop bool) ([]string, int64) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		cfg := PoolConfig{Workers: workers}
		var fail func(int64) bool
		if drop {
			cfg.OnError, fail = DropFailed, failOn
		}
		var rows []string
		g, err := runRecords(t, context.Background(), mem, 40, cfg, fail, func(r arrow.Record) error {
			rows = append(rows, rowsOf(r)...)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return rows, g.Stats()[1].Dropped
	}
	for _, drop := range []bool{false, true} {
		t.Run(fmt.Sprintf("with failed items dropped=%v", drop), func(t *testing.T) {
			one, dropped1 := collect(1, drop)
			four, dropped4 := collect(4, drop)
			if strings.Join(one, ",") != strings.Join(four, ",") {
				t.Fatalf("1 worker and 4 workers differ:\n%v\n%v", one, four)
			}
			wantRecords, wantDropped := 40, int64(0)
			if drop {
				wantDropped = 6 // 3, 10, 17, 24, 31, 38
				wantRecords -= 6
			}
			if len(one) != 3*wantRecords || dropped1 != wantDropped || dropped4 != wantDropped {
				t.Fatalf("%d rows, dropped %d/%d; want %d rows, %d dropped", len(one), dropped1, dropped4, 3*wantRecords, wantDropped)
			}
			// Output order is input order (ids are negated, so strictly
			// decreasing), skipping dropped records.
			prev := int64(1)
			for _, s := range one {
				var id int64
				if _, err := fmt.Sscanf(s, "%d:", &id); err != nil {
					t.Fatal(err)
				}
				if id >= prev {
					t.Fatalf("row %s out of order after id %d", s, prev)
				}
				if drop && failOn(-id/3) {
					t.Fatalf("row %s of a dropped record was emitted", s)
				}
				prev = id
			}
		})
	}
}

func TestOrderedRecordsAreReleasedOnEveryPath(t *testing.T) {
	errSink := errors.New("sink refused")
	tests := []struct {
		name    string
		cfg     PoolConfig
		failOn  func(int64) bool
		cancel  bool  // cancel the parent context at the 10th record
		sinkErr bool  // the sink fails at the 10th record
		wantIs  error // nil: success
	}{
		{name: "a completed run", cfg: PoolConfig{Workers: 4}},
		{name: "a run canceled mid-stream", cfg: PoolConfig{Workers: 4, Window: 6}, cancel: true, wantIs: ErrCanceled},
		{name: "a run whose sink fails", cfg: PoolConfig{Workers: 3}, sinkErr: true, wantIs: errSink},
		{name: "a run whose pool function fails", cfg: PoolConfig{Workers: 4}, failOn: func(n int64) bool { return n == 12 }, wantIs: errors.New("")},
		{name: "a run with a custom error policy that gives up", cfg: PoolConfig{Workers: 2, OnError: func(seq int64, err error) error {
			if seq >= 20 {
				return fmt.Errorf("too many errors: %w", err)
			}
			return nil
		}}, failOn: func(n int64) bool { return n%5 == 0 }, wantIs: errors.New("")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var seen atomic.Int64
			n := int64(-1)
			if tc.wantIs == nil {
				n = 50
			}
			_, err := runRecords(t, ctx, mem, n, tc.cfg, tc.failOn, func(arrow.Record) error {
				if seen.Add(1) == 10 {
					if tc.cancel {
						cancel()
					}
					if tc.sinkErr {
						return errSink
					}
				}
				return nil
			})
			switch {
			case tc.wantIs == nil && err != nil:
				t.Fatal(err)
			case tc.wantIs == nil:
			case err == nil:
				t.Fatal("Run succeeded, want an error")
			case tc.wantIs.Error() != "" && !errors.Is(err, tc.wantIs):
				t.Fatalf("Run() = %v, want %v", err, tc.wantIs)
			}
			if tc.failOn != nil && !strings.Contains(err.Error(), `stage "pool": item `) {
				t.Errorf("error %q does not name the pool stage and the item", err)
			}
		})
	}
}

func TestDrainReleasesRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ch := make(chan arrow.Record, 4)
	for i := range int64(4) {
		ch <- makeRecord(mem, i)
	}
	close(ch)
	if n := Drain(ch); n != 4 {
		t.Errorf("Drain dropped %d records, want 4", n)
	}
}

func TestOrderedStatsCountWorkersAndItems(t *testing.T) {
	g := NewGraph()
	src := AddSource(g, "source", counter(30))
	p := AddStage(g, "pool", src, Ordered(func(_ context.Context, v int) (int, error) {
		time.Sleep(100 * time.Microsecond)
		return v, nil
	}, PoolConfig{Workers: 3}))
	AddSink(g, "sink", p, Collect(new([]int)))
	if err := g.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := g.Stats()[1]
	if s.Name != "pool" || s.Workers != 3 || s.In != 30 || s.Out != 30 || s.Busy < 30*100*time.Microsecond {
		t.Errorf("pool stats %+v", s)
	}
	if m := s.Metrics(); m["in"] != 30 || m["workers"] != 3 {
		t.Errorf("Metrics() = %v", m)
	}
}
