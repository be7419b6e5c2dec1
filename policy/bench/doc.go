// Package bench measures rlpipe's policies: sgemm GFLOP/s (the peak every
// ratio is taken against), a training step and batched generation of a
// causal model (tokens/s and achieved GFLOP/s), and the variance and bias
// of a diffusion policy's ELBO estimators at equal forward-pass budgets
// (ELBO, with count moments for the estimators whose masks are
// independent). rlpipe bench prints the first three; rlpipe bench elbo
// rolls out from a checkpoint (pipeline/bench) and then calls ELBO.
//
// It reaches the models only through policy's exported API (Trainable, the
// capability interfaces, DiffusionModel.MaskedSums, PaddedLen): measurement
// code does not live in the production package. Every result is
// deterministic in its arguments except the timings.
package bench
