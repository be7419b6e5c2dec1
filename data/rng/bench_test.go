package rng_test

import (
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
)

var sink uint64

// BenchmarkStream measures the hot path: one Stream draw per mask bit,
// shuffle swap and sampler pick.
func BenchmarkStream(b *testing.B) {
	b.Run("Uint64", func(b *testing.B) {
		s := rng.NewStream(1)
		var acc uint64
		for b.Loop() {
			acc += s.Uint64()
		}
		sink = acc
	})
	b.Run("Intn", func(b *testing.B) {
		s := rng.NewStream(1)
		var acc int
		for b.Loop() {
			acc += s.Intn(1000)
		}
		sink = uint64(acc)
	})
	b.Run("Float64", func(b *testing.B) {
		s := rng.NewStream(1)
		var acc float64
		for b.Loop() {
			acc += s.Float64()
		}
		sink = uint64(acc)
	})
}

// BenchmarkKey measures deriving one key per (step, prompt, sample); it
// must not allocate.
func BenchmarkKey(b *testing.B) {
	b.ReportAllocs()
	var acc uint64
	i := uint64(0)
	for b.Loop() {
		i++
		acc += rng.Key(42, 0x6d61736b, i, i>>3, 1)
	}
	sink = acc
}
