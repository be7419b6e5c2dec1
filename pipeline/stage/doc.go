// Package stage is rlpipe's stage runtime: named stages, plain functions
// of (ctx, in <-chan T, out chan<- U) error, connected by bounded channels
// in a Graph that runs them in one conc pool, cancels every stage on the
// first error (panics are recovered into errors with stacks) and releases
// the Arrow records left in its channels when it stops. Send and Recv
// select on the context and measure each stage's busy and blocked time
// (Graph.Stats), which the RL loop reports per step in metrics.jsonl.
package stage
