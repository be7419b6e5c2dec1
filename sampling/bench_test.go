package sampling

import "testing"

func benchVAS(b *testing.B) (*VAS, *world) {
	w := newWorld(10000, 8)
	v := newTestVAS(b, 1, nil, 10000)
	all := make([]int, 10000)
	for i := range all {
		all[i] = i
	}
	if err := v.Observe(0, w.outcomes(0, all)); err != nil {
		b.Fatal(err)
	}
	return v, w
}

// BenchmarkVASNext picks 512 prompts from 10k observed ones, re-weighting
// every call (the incremental mode's cost per step).
func BenchmarkVASNext(b *testing.B) {
	v, _ := benchVAS(b)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		v.stale = true
		if _, err := v.Next(int64(i), 512); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVASObserve feeds 64 groups of 8 completions (inverse self-BLEU)
// into a 10k-prompt sampler.
func BenchmarkVASObserve(b *testing.B) {
	v, w := benchVAS(b)
	picks, _ := v.Next(1, 64)
	groups := w.outcomes(1, picks)
	for i := range groups {
		for j := range groups[i].Completions {
			groups[i].Completions[j] = append(groups[i].Completions[j], make([]int32, 250)...)
			for k := range groups[i].Completions[j] {
				groups[i].Completions[j][k] = int32((i*7 + j*13 + k*k) % 97)
			}
		}
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := v.Observe(int64(i), groups); err != nil {
			b.Fatal(err)
		}
	}
}
