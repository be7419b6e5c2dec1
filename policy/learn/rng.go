package learn

import "github.com/rlpipe/rlpipe/policy/objective"

// mix64 is SplitMix64's output at state x: the finaliser of x + γ (γ =
// 0x9e3779b97f4a7c15), the derivation the pipeline has always keyed GDPO's
// mask seeds and diffusion SFT's masks with. It is written through
// objective.Stream, whose first output from state x is exactly that, so
// that this package adds no copy of SplitMix64 (TestMix64IsSplitMix64
// pins the values).
func mix64(x uint64) uint64 {
	s := objective.NewStream(x)
	return s.Uint64()
}
