// Package rng is the project's one source of seed derivations and of its
// splittable random stream: SplitMix64 (Steele, Lea, Flood, "Fast
// splittable pseudorandom number generators", OOPSLA 2014).
//
// Every random draw of a run is derived from (seed, step, prompt_id,
// sample_idx, purpose), so results do not depend on worker count or
// scheduling and a resumed run continues bit-identically (DESIGN §1). New
// code derives a key with [Key] and draws from a [Stream] started at it.
//
// Before this package existed, eight packages carried their own SplitMix64,
// and the name mix64 meant two different functions: [Finalize] (the output
// function alone) and [SplitMix64] (add the increment, then finalise). Each
// place also combined seeds its own way. Those derivations are kept here,
// each as a named function with its former site in its doc comment,
// because their outputs are baked into golden values, default-run results
// and checkpoints' random streams; testdata holds the outputs recorded from
// the old code, and a change to any of them is a breaking change.
//
// Everything here is a pure function or a value type, safe for concurrent
// use except that one [Stream] must not be advanced from two goroutines.
// The package imports nothing from the project, so every other package,
// data included, may import it.
package rng
