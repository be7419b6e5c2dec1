package objective

import "testing"

// BenchmarkPolicyLoss measures the per-token loss and gradient on a 64×256
// batch (16 384 tokens) with dual clip, and with a k3 KL term.
func BenchmarkPolicyLoss(b *testing.B) {
	in := randomLossInput(1, 64, 256, true)
	for i := range in.Mask {
		for t := range in.Mask[i] {
			in.Mask[i][t] = 1
		}
	}
	dst := shapeLike(nil, in.Mask)
	for _, bc := range []struct {
		name string
		beta float64
	}{{"nokl", 0}, {"k3", 0.001}} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := DefaultGRPOConfig().Loss
			cfg.Beta = bc.beta
			b.SetBytes(64 * 256 * 8)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := PolicyLoss(dst, in, cfg); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSelectMask measures one exact-k mask draw on a 256-token canvas.
func BenchmarkSelectMask(b *testing.B) {
	dst, scratch := make([]int, 0, 256), make([]int, 256)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		SelectMask(dst, scratch, 256, 54, Key(1, uint64(i)))
	}
}
