package policy

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

// drawCutRef is the original cut: a stable sort of the whole vocabulary.
func drawCutRef(probs []float64, p data.GenParams, rng *rand.Rand) int {
	order := make([]int, len(probs))
	for j := range order {
		order[j] = j
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return 0
	})
	keep := len(probs)
	if p.TopK > 0 {
		keep = min(keep, p.TopK)
	}
	if p.TopP < 1 {
		var cum float64
		for i := 0; i < keep; i++ {
			if cum += probs[order[i]]; cum >= p.TopP {
				keep = i + 1
				break
			}
		}
	}
	var mass float64
	for _, j := range order[:keep] {
		mass += probs[j]
	}
	u := rng.Float64() * mass
	tok := order[0]
	for _, j := range order[:keep] {
		if probs[j] > 0 {
			tok = j
		}
		if u -= probs[j]; u < 0 {
			break
		}
	}
	return tok
}

// TestDrawCutMatchesStableSort checks that the filtered, pair-sorted cut
// draws exactly the tokens the stable sort of the whole vocabulary drew,
// on peaked and flat distributions with ties.
func TestDrawCutMatchesStableSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	const v = 264
	sp := newSampler(v)
	for it := range 3000 {
		w := make([]float64, v)
		var sum float64
		for j := range w {
			switch it % 3 {
			case 0: // peaked
				w[j] = expNeg(-rng.ExpFloat64() * 8)
			case 1: // flat with ties
				w[j] = float64(1 + rng.IntN(3))
			default:
				w[j] = rng.Float64()
			}
			sum += w[j]
		}
		p := data.GenParams{Temperature: 1, TopK: []int{0, 1, 5, 40, 300}[it%5], TopP: []float64{1, 0.95, 0.5, 1e-6, 0.999}[(it/5)%5]}
		if p.TopK == 0 && p.TopP == 1 {
			continue
		}
		seed := rng.Uint64()
		want := make([]float64, v)
		for j := range w {
			want[j] = w[j] / sum
		}
		ref := drawCutRef(want, p, rand.New(rand.NewPCG(seed, 1)))
		copy(sp.probs, w)
		if got := sp.drawCut(v, sum, p, rand.New(rand.NewPCG(seed, 1))); got != ref {
			t.Fatalf("iteration %d (%+v): drew %d, stable sort drew %d", it, p, got, ref)
		}
	}
}

func BenchmarkDrawCut(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	sp := newSampler(264)
	w := make([]float64, 264)
	for j := range w {
		w[j] = rng.Float64()
	}
	p := data.GenParams{Temperature: 1, TopK: 40, TopP: 0.95}
	b.Run("pairs", func(b *testing.B) {
		for b.Loop() {
			copy(sp.probs, w)
			sp.drawCut(264, 132, p, rng)
		}
	})
	b.Run("stable", func(b *testing.B) {
		for b.Loop() {
			drawCutRef(w, p, rng)
		}
	})
}
