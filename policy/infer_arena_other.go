//go:build !linux

package policy

// adviseHuge is a no-op off Linux.
func adviseHuge([]float32) {}
