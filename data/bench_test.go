package data

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
)

// benchRollouts returns n rollouts of ~64 tokens each (16 prompt, 48 completion).
func benchRollouts(n int) []Rollout {
	rows := make([]Rollout, n)
	for i := range rows {
		r := &rows[i]
		r.PromptID, r.Dataset, r.Prompt, r.Answer, r.Meta = uint64(i/8), "arithmetic", "123+456=", "579", "{}"
		r.SampleIdx, r.PolicyVersion, r.FinishReason = int32(i%8), 3, FinishStop
		r.PromptTokens = make([]int32, 16)
		r.CompletionTokens = make([]int32, 48)
		r.Logprobs = make([]float32, 48)
		for j := range r.CompletionTokens {
			r.CompletionTokens[j] = int32((i + j) % 256)
			r.Logprobs[j] = -0.1
		}
		r.Completion = "<think>3+6=9,2+5=7,1+4=5</think><answer>579</answer>"
	}
	return rows
}

func BenchmarkBuildAndHandOff(b *testing.B) {
	const n, batch = 10000, 500
	rows := benchRollouts(n)
	b.ReportAllocs()
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		ch := make(chan arrow.Record, 4)
		done := make(chan int64)
		go func() {
			var got int64
			for rec := range ch {
				got += rec.NumRows()
				rec.Release()
			}
			done <- got
		}()
		for s := 0; s < n; s += batch {
			ch <- NewRolloutsRecord(memory.DefaultAllocator, rows[s:s+batch])
		}
		close(ch)
		if <-done != n {
			b.Fatal("lost rows")
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkIPCZstd(b *testing.B) {
	const n, batch = 10000, 1000
	rows := benchRollouts(n)
	var recs []arrow.Record
	for s := 0; s < n; s += batch {
		recs = append(recs, NewRolloutsRecord(memory.DefaultAllocator, rows[s:s+batch]))
	}
	var buf bytes.Buffer
	b.Run("write", func(b *testing.B) {
		for it := 0; it < b.N; it++ {
			buf.Reset()
			w, err := NewRecordWriter(&buf, FormatIPCStream, RolloutsSchema(), nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range recs {
				if err := w.Write(r); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
		b.ReportMetric(float64(buf.Len()), "bytes")
	})
	b.Run("read", func(b *testing.B) {
		for it := 0; it < b.N; it++ {
			rd, err := ipc.NewReader(bytes.NewReader(buf.Bytes()))
			if err != nil {
				b.Fatal(err)
			}
			total := 0
			for rd.Next() {
				out, err := RolloutsFromRecord(rd.Record())
				if err != nil {
					b.Fatal(err)
				}
				total += len(out)
			}
			rd.Release()
			if total != n {
				b.Fatal("lost rows")
			}
		}
		b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
	for _, r := range recs {
		r.Release()
	}
}

func BenchmarkReadGSM8KTrain(b *testing.B) {
	for it := 0; it < b.N; it++ {
		r, err := OpenSpec("gsm8k:train")
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := r.Next(context.Background()); err == io.EOF {
				break
			} else if err != nil {
				b.Fatal(err)
			}
		}
		r.Close()
	}
	b.ReportMetric(float64(7473*b.N)/b.Elapsed().Seconds(), "rows/s")
}
