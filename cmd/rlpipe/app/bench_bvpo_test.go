package app

import (
	"strings"
	"testing"
)

func TestBenchBVPORejectsOddGAsUsage(t *testing.T) {
	// The mixed estimators split G between the modes, so an odd G would
	// break the equal sample budget; the error must name the flag.
	_, stderr, code := cli(t, "bench", "bvpo", "--checkpoint", t.TempDir(), "--g", "5")
	if code != 2 || !strings.Contains(stderr, "--g 5") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --g 5", code, stderr)
	}
}

func TestBenchBVPORejectsUnknownNormalizeAsUsage(t *testing.T) {
	_, stderr, code := cli(t, "bench", "bvpo", "--checkpoint", t.TempDir(), "--normalize", "tokens")
	if code != 2 || !strings.Contains(stderr, "--normalize") {
		t.Fatalf("exit %d, stderr %q; want 2 naming --normalize", code, stderr)
	}
}
