package policy

import (
	"syscall"
	"testing"
	"time"
)

// BenchmarkTrainStepDefault is one Accumulate of the default model on a
// 16×128 batch, as `rlpipe bench train` times it. Besides wall time it
// reports process CPU time per step (cpu-ms/op), which other jobs on a
// shared machine disturb far less than wall time.
func BenchmarkTrainStepDefault(b *testing.B) {
	m, err := NewModel(DefaultConfig())
	if err != nil {
		b.Fatal(err)
	}
	var batch SeqBatch
	for i := range 16 {
		c := make([]int32, 127)
		for j := range c {
			c[j] = int32(8 + (i*31+j*7)%256)
		}
		batch.Prompts, batch.Completions = append(batch.Prompts, []int32{1}), append(batch.Completions, c)
	}
	obj := fixedObjective(1)
	if _, err := m.Accumulate(batch, 1, obj); err != nil { // compile outside the timing
		b.Fatal(err)
	}
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		m.ZeroGrad()
		if _, err := m.Accumulate(batch, 1, obj); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
	b.ReportMetric(16*128*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
