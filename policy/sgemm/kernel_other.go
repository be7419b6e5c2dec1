//go:build !amd64 || purego

package sgemm

// active is the kernel Sgemm uses: the portable Go kernel on this build.
var active = &generic

// kernels lists every kernel this build can run, for differential tests.
func kernels() []*kernel { return []*kernel{&generic} }
