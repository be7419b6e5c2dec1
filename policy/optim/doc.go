// Package optim updates model weights held in plain float32 slices: AdamW
// with decoupled weight decay, global gradient-norm clipping, learning-rate
// schedules, and a serializable optimizer state for checkpoints.
//
// The model hands the optimizer a []Param whose Value and Grad slices alias
// its own weight and gradient buffers; the optimizer updates Value in place
// and never retains or resizes those slices beyond the call.
package optim
