package policy

import (
	"syscall"
	"unsafe"
)

// adviseHuge asks Linux to back the arena with transparent huge pages
// (where enabled as madvise): a decode step walks every sequence's cache,
// tens of megabytes in 4 KB pages otherwise, and the walk is TLB-bound.
// Best effort: errors are ignored.
func adviseHuge(a []float32) {
	if len(a) == 0 {
		return
	}
	const hugePage = 2 << 20
	b := unsafe.Slice((*byte)(unsafe.Pointer(&a[0])), len(a)*4)
	// madvise wants page-aligned bounds: the whole huge pages inside b.
	lo := int(-uintptr(unsafe.Pointer(&b[0])) & (hugePage - 1))
	if lo+hugePage > len(b) {
		return
	}
	n := (len(b) - lo) &^ (hugePage - 1)
	_ = syscall.Madvise(b[lo:lo+n], 14) // MADV_HUGEPAGE
}
