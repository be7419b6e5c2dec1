// Package hftok loads Hugging Face tokenizer.json (and tokenizer_config.json)
// files of pretrained BPE models and encodes and decodes text to exactly the
// ids and strings of the Rust tokenizers library.
//
// Two families are supported: byte-level BPE (GPT-2, Llama 3, Qwen2/2.5/3,
// SmolLM2), whose pre-tokenizer regexes are implemented as hand-written
// scanners because Go's regexp has no lookahead, and SentencePiece-style BPE
// with byte fallback (Llama 2, TinyLlama). Every other component is refused
// at load time with an error naming the file and the JSON field path, so a
// model can never be trained on ids that differ from the reference ones.
//
// Text is first cut at added tokens (leftmost-longest, honouring lstrip,
// rstrip, single_word and normalized), the rest is normalized,
// pre-tokenized and merged by rank; words are cached in a bounded,
// concurrency-safe cache.
package hftok
