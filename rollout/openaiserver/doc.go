// Package openaiserver serves any rollout.Model over the OpenAI-compatible
// HTTP endpoints GET /v1/models, POST /v1/completions and
// POST /v1/chat/completions (non-streaming), so that rollout.OpenAI, the
// official OpenAI clients and tools built for vLLM can drive rlpipe's own
// policies ("rlpipe serve").
//
// Supported request fields: model, prompt (string, array of strings, array
// of token ids, array of token-id arrays), messages (string or text-part
// content), n, temperature (0 means greedy), top_p, top_k (vLLM extension),
// max_tokens / max_completion_tokens, stop (string or array), logprobs
// (completions: an int, answered with tokens, token_logprobs and
// text_offset; chat: true, answered with content[].token/logprob/bytes),
// seed, and return_token_ids (vLLM extension: each choice carries
// token_ids, and prompt_token_ids is returned). Unknown fields are ignored;
// stream: true is refused with 400. top_logprobs alternatives are not
// computed (models return only the sampled token's log-prob), so they come
// back empty.
//
// Stop strings: a stop string that encodes to exactly one token is also
// given to the model as a stop token, so generation ends early; every stop
// string is then applied post hoc to the decoded text. The text is cut
// before the earliest stop string (OpenAI's convention) and finish_reason
// becomes "stop"; token_ids and log-probs are cut after the shortest token
// prefix whose decoding contains the stop string, so they may include the
// stop string's tokens.
//
// Seeds: every sequence's randomness comes from the request seed and the
// (prompt, choice) index, so a request with a seed is reproducible. Without
// one the server derives a fresh seed from Config.Seed and a per-server
// request counter, which is deterministic for a fixed request order.
//
// Limits: request bodies are capped (Config.MaxBodyBytes, 413), every
// request has a deadline (Config.Timeout, 504), at most Config.Concurrency
// model calls run at once and at most Config.QueueDepth more wait; beyond
// that the server answers 429 at once. Connections have read, write and
// idle timeouts derived from Config.Timeout (Config.HTTPTimeouts; a body
// that arrives too slowly gets 408) and at most Config.MaxConns are served
// at once. Empty prompts and prompts over Config.MaxPromptTokens get 400;
// with Config.APIKey set, every endpoint but /health needs the bearer key
// (else 401). Errors are OpenAI-shaped:
// {"error": {"message", "type", "param", "code"}}.
package openaiserver
