package policy

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// threadCPU returns the CPU time of the calling thread: on a shared,
// oversubscribed machine wall time mostly measures the neighbours.
func threadCPU() time.Duration {
	var ts syscall.Timespec
	const clockThreadCPUTime = 3
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0)
	return time.Duration(ts.Nano())
}

func BenchmarkFastMath(b *testing.B) {
	x := make([]float32, 4096)
	for i := range x {
		x[i] = float32(i%200)/20 - 5
	}
	y, bias := make([]float32, len(x)), make([]float32, len(x))
	for _, c := range []struct {
		name string
		f    func()
	}{
		{"geluFast", func() { biasActRowsFast(y, x, bias, 1, len(x), actGELU) }},
		{"gelu", func() { biasActRows(y, x, bias, 1, len(x), actGELU) }},
		{"softmaxScaled", func() { copy(y, x); softmaxScaled(y, 0.5) }},
		{"softmaxInPlace", func() { copy(y, x); softmaxInPlace(y) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			t0 := threadCPU()
			for b.Loop() {
				c.f()
			}
			b.ReportMetric(float64(threadCPU()-t0)/float64(b.N*len(x)), "cpu-ns/elem")
		})
	}
}
