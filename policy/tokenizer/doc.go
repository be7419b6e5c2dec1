// Package tokenizer is rlpipe's deterministic byte-level tokenizer.
//
// The vocabulary is fixed: eight special tokens at ids 0..7 followed by the
// 256 byte values at ids 8..263, so any string (valid UTF-8 or not) encodes
// and decodes losslessly and no training data is needed. A model file
// carries the tokenizer's Spec in its metadata and FromSpec refuses a spec
// it does not understand, so a checkpoint can never be decoded with the
// wrong vocabulary.
package tokenizer
