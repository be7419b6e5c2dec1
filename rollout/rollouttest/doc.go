// Package rollouttest holds a conformance suite every rollout generator must
// pass (Run), and the deterministic test doubles the suite is specified
// against: HashModel (a rollout.Model that derives its completions from a
// hash of seed, prompt and sample), ByteCodec and TemplateRenderer.
//
// The doubles are deliberately tiny and exact, so that the same expectations
// hold whether the model runs in process or behind an OpenAI-compatible
// server.
package rollouttest
