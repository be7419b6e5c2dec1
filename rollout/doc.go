// Package rollout generates G completions per prompt, in trace or empty-trace
// mode, from an in-process model or an OpenAI-compatible inference server.
//
// It never imports policy: the in-process generator works on any model that
// satisfies rollout's own small interface, whose request and response types
// live in data.
package rollout
