//go:build !unix

package sgemm

import "time"

// cpuTime is unavailable here; benchmarks then skip the per-CPU figure.
func cpuTime() time.Duration { return 0 }
