//go:build unix

package sgemm

import (
	"syscall"
	"time"
)

// cpuTime is the process's user+system CPU time, so that benchmarks on a
// shared machine can also report flops per CPU-second, which other load
// disturbs far less than wall-clock figures.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
