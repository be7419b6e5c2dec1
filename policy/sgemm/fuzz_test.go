package sgemm

import (
	"math/rand/v2"
	"testing"
)

// FuzzSgemm checks random shapes, strides, transposes and scalars against
// the float64 reference with every kernel this machine supports. Sizes are
// kept below ~70 so that each input runs in microseconds and still crosses
// tile edges of every kernel; k up to 600 crosses k-blocks.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(3), uint8(5), uint16(7), uint8(0), uint8(0), int8(2), int8(0), uint64(1))
	f.Add(uint8(13), uint8(33), uint16(300), uint8(3), uint8(1), int8(-3), int8(1), uint64(2))
	f.Add(uint8(64), uint8(64), uint16(257), uint8(0), uint8(2), int8(2), int8(4), uint64(3))
	f.Fuzz(func(t *testing.T, m, n uint8, k uint16, pad, flags uint8, alpha2, beta2 int8, seed uint64) {
		tc := gemmCase{
			m: int(m % 70), n: int(n % 70), k: int(k % 600), pad: int(pad % 4),
			alpha: float32(alpha2) / 2, beta: float32(beta2) / 2,
		}
		tA, tB, nanC := flags&1 != 0, flags&2 != 0, flags&4 != 0 && tc.beta == 0
		saved := active
		defer func() { active = saved }()
		for _, kn := range kernels() {
			active = kn
			check(t, rand.New(rand.NewPCG(seed, 7)), tA, tB, tc, nanC)
		}
	})
}
