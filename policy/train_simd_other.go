//go:build !amd64 || purego

package policy

// geluRow writes y = GELU(x + b) for one row (equal lengths).
func geluRow(y, x, b []float32) { geluRowScalar(y, x, b) }

// geluGradRow writes dx = dy ⊙ GELU'(x + b) for one row (equal lengths).
func geluGradRow(dx, x, b, dy []float32) { geluGradRowScalar(dx, x, b, dy) }

// expSub sets p[i] = e^(p[i] − m).
func expSub(p []float32, m float32) { expSubScalar(p, m) }

// softmaxRowsVec reports false: no vector softmax on this build.
func softmaxRowsVec(s, mask []float32, n int, causal bool) bool { return false }

// sumColsVec reports false: no vector column sums on this build.
func sumColsVec(acc []float64, src []float32, rows, ld, c0 int) bool { return false }

// geluKeepRow reports false: the kept-sigmoid GELU is vector-only.
func geluKeepRow(y, s, x, b []float32) bool { return false }

// geluGradKeptRow is never called on this build (geluKeepRow keeps
// nothing).
func geluGradKeptRow(dx, x, b, s, dy []float32) { geluGradRowScalar(dx, x, b, dy) }
