// Package reward scores completions: a batch-oriented Func interface, a
// registry by name, built-in verifiers, weighted composition and plugins
// (subprocess JSON lines, HTTP, Go registration).
//
// It never touches model weights.
package reward
