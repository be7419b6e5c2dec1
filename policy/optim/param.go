package optim

import (
	"errors"
	"fmt"
	"math"
)

// ErrState is wrapped by every error about optimizer state that does not
// match the parameters it is loaded for, or that is malformed.
var ErrState = errors.New("optim: state mismatch")

// Param is one trainable tensor, flattened. Value and Grad alias the
// model's buffers and must have equal lengths; Name must be unique among
// the params handed to one optimizer (it keys the saved state). NoDecay
// exempts the tensor from weight decay (biases, norms, embeddings by
// choice of the model).
type Param struct {
	Name    string
	Value   []float32
	Grad    []float32
	NoDecay bool
}

// checkParams validates names and lengths.
func checkParams(params []Param) error {
	seen := make(map[string]struct{}, len(params))
	for i, p := range params {
		if p.Name == "" {
			return fmt.Errorf("optim: param %d has no name", i)
		}
		if _, dup := seen[p.Name]; dup {
			return fmt.Errorf("optim: param %d %q: duplicate name", i, p.Name)
		}
		seen[p.Name] = struct{}{}
		if len(p.Value) != len(p.Grad) {
			return fmt.Errorf("optim: param %d %q: %d values but %d grads", i, p.Name, len(p.Value), len(p.Grad))
		}
	}
	return nil
}

// GradNorm returns the global L2 norm of all gradients, accumulated in
// float64. It allocates nothing.
func GradNorm(params []Param) float64 {
	var ss float64
	for _, p := range params {
		for _, g := range p.Grad {
			ss += float64(g) * float64(g)
		}
	}
	return math.Sqrt(ss)
}

// ClipGradNorm scales every gradient in place by maxNorm/norm when the
// global L2 norm exceeds maxNorm, and returns the norm before clipping
// (NaN or +Inf when a gradient is not finite; gradients are then left
// untouched so the caller can see and skip the step). maxNorm <= 0 disables
// clipping but still returns the norm.
func ClipGradNorm(params []Param, maxNorm float64) (normBefore float64) {
	norm := GradNorm(params)
	if maxNorm <= 0 || !(norm > maxNorm) || math.IsInf(norm, 0) {
		return norm
	}
	scale := float32(maxNorm / norm)
	for _, p := range params {
		for i := range p.Grad {
			p.Grad[i] *= scale
		}
	}
	return norm
}
