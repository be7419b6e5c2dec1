package stage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"go.uber.org/goleak"
)

// testSchema is a tiny schema of our own for records flowing through stages.
var testSchema = arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)

// makeRecord builds a 3-row record whose ids start at 3*n.
func makeRecord(mem memory.Allocator, n int64) arrow.Record {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := int64(0); i < 3; i++ {
		b.Field(0).(*array.Int64Builder).Append(3*n + i)
	}
	return b.NewRecord()
}

// TestRecordsAreReleasedOnEveryPath runs records through source → copy →
// pass → sink, where copy builds a new record and releases its input, and
// checks with a checked allocator that nothing leaks whether the run
// completes, is canceled, or a stage fails: values left in the channels
// are released by the Graph, values a failed Send held by Send.
func TestRecordsAreReleasedOnEveryPath(t *testing.T) {
	errSink, errCopy := errors.New("sink refused"), errors.New("copy refused")
	tests := []struct {
		name     string
		cancel   bool // cancel the parent context at the 10th record
		sinkErr  bool // the sink fails at the 10th record
		copyFail bool // the copy stage fails at the 12th record
		wantIs   error
	}{
		{name: "a completed run"},
		{name: "a run canceled mid-stream", cancel: true, wantIs: ErrCanceled},
		{name: "a run whose sink fails", sinkErr: true, wantIs: errSink},
		{name: "a run whose middle stage fails", copyFail: true, wantIs: errCopy},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			n := int64(-1)
			if tc.wantIs == nil {
				n = 50
			}
			var i int64
			g := NewGraph(WithCapacity(2))
			src := AddSource(g, "source", fromFunc(func(context.Context) (arrow.Record, bool, error) {
				if n >= 0 && i >= n {
					return nil, false, nil
				}
				i++
				return makeRecord(mem, i-1), true, nil
			}))
			cp := AddStage(g, "copy", src, mapItems(func(_ context.Context, r arrow.Record) (arrow.Record, error) {
				defer r.Release()
				if tc.copyFail && r.Column(0).(*array.Int64).Value(0) == 3*12 {
					return nil, errCopy
				}
				return makeRecord(mem, r.Column(0).(*array.Int64).Value(0)/3), nil
			}))
			pass := AddStage(g, "pass", cp, mapItems(func(_ context.Context, r arrow.Record) (arrow.Record, error) { return r, nil }))
			var seen atomic.Int64
			AddSink(g, "sink", pass, forEach(func(_ context.Context, r arrow.Record) error {
				defer r.Release()
				if seen.Add(1) == 10 {
					if tc.cancel {
						cancel()
					}
					if tc.sinkErr {
						return errSink
					}
				}
				return nil
			}))
			err := g.Run(ctx)
			if tc.wantIs == nil {
				if err != nil || seen.Load() != n {
					t.Fatalf("Run() = %v after %d records, want nil after %d", err, seen.Load(), n)
				}
				return
			}
			if !errors.Is(err, tc.wantIs) {
				t.Fatalf("Run() = %v, want %v", err, tc.wantIs)
			}
		})
	}
}

// Discard releases a Releaser and ignores anything else.
func TestDiscardReleasesRecords(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	Discard(makeRecord(mem, 1))
	Discard(fmt.Sprint("not a record"))
}
