package flight

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves goroutines behind (streams, servers,
// connections).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
