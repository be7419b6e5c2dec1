package pipeline

import (
	"math"
	"testing"
)

func TestPairedDiff(t *testing.T) {
	cases := []struct {
		name          string
		before, after []float64
		mean, se      float64
		ok            bool
	}{
		// d = [1, 0, 0, 1]: mean 0.5, sd sqrt(1/3), se sqrt(1/3)/2.
		{"two of four problems fixed", []float64{0, 1, 0, 0}, []float64{1, 1, 0, 1}, 0.5, math.Sqrt(1.0/3) / 2, true},
		// Every problem moves by the same amount: no paired noise at all,
		// although the unpaired errors would be large.
		{"uniform shift has zero paired error", []float64{0, 0.5, 1, 0.25}, []float64{0.25, 0.75, 1.25, 0.5}, 0.25, 0, true},
		{"different problem counts", []float64{0, 1}, []float64{1}, 0, 0, false},
		{"a single problem has no error bar", []float64{0}, []float64{1}, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mean, se, ok := PairedDiff(c.before, c.after)
			if ok != c.ok || math.Abs(mean-c.mean) > 1e-12 || math.Abs(se-c.se) > 1e-12 {
				t.Fatalf("PairedDiff = %v ± %v (ok %v), want %v ± %v (ok %v)", mean, se, ok, c.mean, c.se, c.ok)
			}
		})
	}
}
