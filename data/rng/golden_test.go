package rng_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rlpipe/rlpipe/data/rng"
	"github.com/rlpipe/rlpipe/data/rng/rngtest"
)

// TestDerivationsMatchTheRecordedCopies checks every derivation against
// the golden files recorded from the code it replaced (see each file's
// provenance). The inputs repeat those of the recording tests exactly;
// consumer-level streams (task generators, sampler permutations, the hash
// model's completions, SFT epoch orders) are pinned in their own packages.
func TestDerivationsMatchTheRecordedCopies(t *testing.T) {
	rngtest.CheckPins(t,
		rngtest.Pin{Golden: "finalize", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, x := range w[:48] {
				got = append(got, rng.Finalize(x))
			}
			return got
		}},
		rngtest.Pin{Golden: "splitmix64", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, x := range w[:48] {
				got = append(got, rng.SplitMix64(x))
			}
			return got
		}},
		rngtest.Pin{Golden: "key", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for i := range 40 {
				got = append(got, rng.Key(w[i], w[i+1:i+1+i%5]...))
			}
			return got
		}},
		rngtest.Pin{Golden: "stream_uint64", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for k := range 6 {
				s := rng.NewStream(w[k])
				for range 8 {
					got = append(got, s.Uint64())
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "stream_intn", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for k := range 4 {
				s := rng.NewStream(w[k+12])
				for _, n := range []int{1, 2, 3, 5, 7, 10, 100, 1000, 1 << 20, 1<<31 - 1, 1 << 62} {
					got = append(got, uint64(s.Intn(n)))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "stream_float64", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for k := range 4 {
				s := rng.NewStream(w[k])
				for range 8 {
					got = append(got, math.Float64bits(s.Float64()))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "data_heldout_unit", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, id := range w[:48] {
				got = append(got, math.Float64bits(rng.HeldOutUnit(id)))
			}
			return got
		}},
		rngtest.Pin{Golden: "sampling_pool_fingerprint", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for n := 1; n <= 24; n++ {
				got = append(got, rng.PoolFingerprint(w[:n]))
			}
			for n := 1; n <= 8; n++ {
				got = append(got, rng.PoolFingerprint(w[30:30+n]))
			}
			return got
		}},
		rngtest.Pin{Golden: "policy_decode_pcg", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, w[20]} {
				for _, pid := range []uint64{0, 1, w[21]} {
					for _, idx := range []int32{0, 1, 7, -1} {
						r := rand.New(rand.NewPCG(rng.DecodeSeeds(seed, pid, idx)))
						got = append(got, r.Uint64(), r.Uint64())
					}
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "rollout_step_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for _, step := range []int64{0, 1, 99} {
					for _, round := range []int{0, 3} {
						for _, mode := range []uint8{0, 1} {
							got = append(got, rng.RolloutStepSeed(seed, step, round, mode))
						}
					}
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "openai_group_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for i := range 32 {
				got = append(got, rng.OpenAIGroupSeed(w[i], w[i+1]))
			}
			return got
		}},
		rngtest.Pin{Golden: "openai_fallback_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for i := range 8 {
				for s := range 4 {
					got = append(got, rng.OpenAIFallbackSeed(w[i+10], s))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "openaiserver_request_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for n := uint64(1); n <= 10; n++ {
					got = append(got, rng.ServerRequestSeed(seed, n))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "hashmodel_key", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, w[20]} {
				for _, pid := range []uint64{0, 1, w[21]} {
					for _, idx := range []int32{0, 1, 5, -1} {
						for _, greedy := range []bool{false, true} {
							got = append(got, rng.HashModelKey(seed, pid, idx, greedy))
						}
					}
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "sft_empty_unit", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, id := range w[:48] {
				got = append(got, math.Float64bits(rng.SFTEmptyTraceUnit(id)))
			}
			return got
		}},
		rngtest.Pin{Golden: "sft_mask_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for step := range 12 {
					got = append(got, rng.SFTMaskSeed(seed, step))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "sft_epoch_key", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for epoch := range uint64(12) {
					got = append(got, rng.SFTEpochKey(seed, epoch))
				}
			}
			return got
		}},
		rngtest.Pin{Golden: "gdpo_mask_seed", Site: "data/rng", Values: func(_ testing.TB, w []uint64) (got []uint64) {
			for _, seed := range []uint64{0, 1, w[20]} {
				for step := range 12 {
					got = append(got, rng.GDPOMaskSeed(seed, step))
				}
			}
			return got
		}},
	)
}
