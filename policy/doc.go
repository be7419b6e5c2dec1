// Package policy holds the trainable policies (a causal transformer and a
// masked diffusion LM on gorgonia), their fast inference path, objectives,
// optimizer and weight serialization.
//
// It knows nothing about datasets or the CLI.
package policy
