//go:build !openblas

package policy

// BLASName names the BLAS implementation this binary uses: gonum's pure-Go
// kernels unless built with -tags openblas.
const BLASName = "gonum"
