package rng

// The derivations below are the ones each package used before this package
// existed, kept bit-for-bit (testdata pins them) so that golden values,
// default-run results and checkpoints' random streams do not move. Their
// salts are arbitrary but fixed; each doc comment names the former site.

// HeldOutUnit is the position in [0, 1) of prompt id in a dataset split by
// hashing (data.IsHeldOut holds it out when HeldOutUnit(id) < frac). It
// depends on the id only, so equal ids always land on the same side.
// Formerly data/split.go: unitFloat(mix64(id ^ 0x5bd1e9955bd1e995)).
func HeldOutUnit(id uint64) float64 { return UnitFloat(Finalize(id ^ 0x5bd1e9955bd1e995)) }

// TaskKey is the key of the [Stream] that generates example index of a
// built-in task, where taskID is data.PromptID(task, ""): one stream per
// example, so examples do not depend on each other. Formerly data/split.go
// newRNG: mix64(seed ^ taskID) ^ mix64(index + γ).
func TaskKey(seed, taskID, index uint64) uint64 {
	return Finalize(seed^taskID) ^ Finalize(index+Gamma)
}

// PoolFingerprint is the sampler's fingerprint of its prompt pool (ids in
// order), checked when a sampler state is loaded so that state saved for
// another pool is refused. It chains like [Key] without position terms.
// Formerly inline in sampling/sampler.go newPool.
func PoolFingerprint(ids []uint64) uint64 {
	h := Key(uint64(len(ids)))
	for _, id := range ids {
		h = Finalize(h ^ (id + Gamma))
	}
	return h
}

// DecodeSeeds returns the two PCG seeds of one sample's token-sampling
// stream in the causal decoder, from (seed, promptID) and (seed,
// sampleIdx); sampleIdx enters as its 32-bit pattern. Formerly
// policy/generate.go seqRNG.
func DecodeSeeds(seed, promptID uint64, sampleIdx int32) (uint64, uint64) {
	a := SplitMix64(seed ^ SplitMix64(promptID^0x5eed))
	b := SplitMix64(seed + SplitMix64(uint64(uint32(sampleIdx))+Gamma))
	return a, b
}

// RolloutStepSeed is the generation seed of one (step, refill round, mode)
// of a run, so that each draws fresh yet reproducible samples. Formerly
// rollout/generator.go StepSeed (which now calls it).
func RolloutStepSeed(seed uint64, step int64, round int, mode uint8) uint64 {
	return SplitMix64(SplitMix64(seed^0x726f6c6c6f7574) ^ SplitMix64(uint64(step)+1) ^
		SplitMix64(uint64(mode)+0x9e37) ^ SplitMix64(uint64(round)+0x7f4a))
}

// OpenAIGroupSeed is the seed the OpenAI-compatible generator sends for
// the G samples of one prompt. Formerly inline in rollout/openai_call.go.
func OpenAIGroupSeed(stepSeed, promptID uint64) uint64 { return Derive(stepSeed, promptID) }

// OpenAIFallbackSeed is the seed of the single-sample request that
// replaces sample of a group the server returned short. Formerly inline in
// rollout/openai_call.go.
func OpenAIFallbackSeed(groupSeed uint64, sample int) uint64 {
	return Derive(groupSeed, uint64(sample)+1)
}

// ServerRequestSeed is the seed the test OpenAI server uses for its
// request-th request (counting from 1) when the client sent none.
// Formerly inline in rollout/openaiserver/generate.go.
func ServerRequestSeed(serverSeed, request uint64) uint64 { return Derive(serverSeed, request) }

// ServerPromptKey keys a prompt's random streams in the test OpenAI server
// by a hash of its tokens and its position in the request, so equal
// prompts in one request still get distinct samples. Formerly
// rollout/openaiserver/generate.go promptID.
func ServerPromptKey(tokenHash uint64, pos int) uint64 { return Derive(tokenHash, uint64(pos)) }

// HashModelKey is the state the rollouttest hash model starts each
// completion from; greedy decoding ignores sampleIdx, so all samples of a
// prompt agree. Formerly inline in rollout/rollouttest/model.go.
func HashModelKey(seed, promptID uint64, sampleIdx int32, greedy bool) uint64 {
	s := Derive(seed, promptID+0x51ed)
	if !greedy {
		s = Derive(s, uint64(sampleIdx)+1)
	}
	return s
}

// SFTEmptyTraceUnit is the position in [0, 1) of example id in the SFT
// empty-trace share (the example is rendered in empty-trace form when it
// is below the share). Formerly inline in pipeline/sft.go sftSequences.
func SFTEmptyTraceUnit(id uint64) float64 { return UnitFloat(SplitMix64(id ^ 0x5f7)) }

// SFTMaskSeed is the diffusion masking seed of SFT step step, so that every
// step draws new masking times and positions. Formerly inline in
// pipeline/sft.go SFT.
func SFTMaskSeed(seed uint64, step int) uint64 { return Derive(seed, uint64(step)+0xd1f) }

// SFTEpochKey is the start of SFT epoch epoch's shuffle, which then
// iterates s = SplitMix64(s) and swaps i with s mod (i+1). Formerly
// pipeline/sft.go epochOrder.shuffle.
func SFTEpochKey(seed, epoch uint64) uint64 { return Derive(seed, epoch+0x51f7) }

// GDPOMaskSeed is GDPO's mask seed of step step, shared by every
// evaluation of its rollouts (current, behaviour, reference; every epoch)
// so that ratios and KLs compare like with like. Formerly pipeline/gdpo.go
// gdpoLearner.maskSeed.
func GDPOMaskSeed(seed uint64, step int) uint64 { return Derive(seed, uint64(step)+0x6d61736b) }
