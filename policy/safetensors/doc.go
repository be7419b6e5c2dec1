// Package safetensors reads and writes the safetensors weight format, so
// rlpipe's model files load in Python's safetensors/transformers as-is and
// Hugging Face hub checkpoints load in rlpipe.
//
// Layout: an 8-byte little-endian unsigned header length N, then N bytes of
// JSON header (padded with spaces so N is a multiple of 8), then the
// little-endian tensor bytes. The header maps each tensor name to its dtype,
// shape and [begin, end) byte offsets relative to the start of the data
// buffer, plus an optional "__metadata__" object of string to string.
// Tensors are contiguous, with no gaps.
//
// Two APIs share the header validation:
//
//   - Read/Write/ReadFile/WriteFile stream whole F32 files (rlpipe's own
//     checkpoints); other dtypes are refused with an error naming the
//     tensor.
//   - Open/Checkpoint read Hugging Face checkpoints, a model.safetensors or
//     shards tied together by model.safetensors.index.json, lazily, one
//     tensor at a time, converting BF16, F16, F32 and F64 to float32
//     (BF16 and F16 exactly). WriteCheckpoint writes the layout
//     save_pretrained writes, as F32, BF16 or F16 rounded to nearest even.
//
// Every file is validated when opened; errors name the file, the tensor and
// the field at fault, and wrap ErrFormat.
package safetensors
