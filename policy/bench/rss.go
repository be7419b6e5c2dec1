package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"strings"
)

// ResetPeakRSS starts a new peak-memory window: on Linux, writing 5 to
// /proc/self/clear_refs resets VmHWM to the current RSS, so that PeakRSS
// reports one benchmark's peak rather than the process's. Elsewhere it does
// nothing.
func ResetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// PeakRSS returns the process's peak resident set size in bytes since the
// last ResetPeakRSS (VmHWM of /proc/self/status), or 0 where that file
// does not exist.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	return parseVmHWM(b)
}

// parseVmHWM reads the "VmHWM:   1234 kB" line of a /proc status file.
func parseVmHWM(status []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return 0
		}
		return kb << 10
	}
	return 0
}
