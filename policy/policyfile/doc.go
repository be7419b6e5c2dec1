// Package policyfile is the on-disk format of an in-process policy: a
// directory holding model.safetensors, whose safetensors metadata carries,
// besides the model family's own keys (policy.MetaModelConfig,
// policy.MetaModelKind), the tokenizer spec, the rlpipe version that wrote
// it, a diffusion policy's canvas and generation settings, and the data it
// was trained on.
//
// Load reads either family through policy.LoadTrainable, so callers never
// dispatch on the model's type; New builds a fresh policy of a kind with
// the byte-level tokenizer.
package policyfile
