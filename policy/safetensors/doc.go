// Package safetensors reads and writes the safetensors weight format, so
// rlpipe's model files load in Python's safetensors/transformers as-is.
//
// Layout: an 8-byte little-endian unsigned header length N, then N bytes of
// JSON header (padded with spaces so N is a multiple of 8), then the
// little-endian tensor bytes. The header maps each tensor name to its dtype,
// shape and [begin, end) byte offsets relative to the start of the data
// buffer, plus an optional "__metadata__" object of string to string.
// Tensors are contiguous, in the order written, with no gaps.
//
// Only F32 tensors are supported; other dtypes are refused with an error
// naming the tensor.
package safetensors
