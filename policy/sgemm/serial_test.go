package sgemm

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSerialIsBitIdenticalToImplementation: Serial skips only the
// goroutine split, so every shape and transpose gives the same bits.
func TestSerialIsBitIdenticalToImplementation(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for _, s := range []benchShape{
		{"large", 300, 200, 300, false, false},
		{"large/TN", 260, 130, 700, true, false},
		{"large/NT", 130, 260, 300, false, true},
		{"attention/NT", 32, 96, 32, false, true},
		{"edge", 13, 33, 5, true, true},
	} {
		a, b := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n)
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		for _, beta := range []float32{0, 0.5} {
			c0 := randSlice(rng, s.m*s.n)
			c1 := slices.Clone(c0)
			Implementation{}.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 0.75, a, lda, b, ldb, beta, c0, s.n)
			Serial{}.Sgemm(trans(s.tA), trans(s.tB), s.m, s.n, s.k, 0.75, a, lda, b, ldb, beta, c1, s.n)
			if !slices.Equal(c0, c1) {
				t.Fatalf("%s beta=%v: Serial differs from Implementation", s.name, beta)
			}
		}
	}
}
