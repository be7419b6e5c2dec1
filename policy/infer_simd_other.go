//go:build !amd64 || purego

package policy

// Without the vector kernels every helper does nothing and reports so;
// the scalar code of infer_math.go does all the work.

var inferAVX2 = false

func geluRowVec(y, x, b []float32) int                                           { return 0 }
func maxScaledVec(s []float32, scale float64) (float64, int)                     { return 0, 0 }
func expSumVec(s []float32, scale, mx float64) (float64, int)                    { return 0, 0 }
func scaleVec(s []float32, inv float64) int                                      { return 0 }
func layerNormRowVec(y, x, g, b []float32) bool                                  { return false }
func expProbsVec(s []float32, probs []float64, scale, mx float64) (float64, int) { return 0, 0 }
