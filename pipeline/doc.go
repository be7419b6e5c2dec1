// Package pipeline runs rlpipe's concurrent stages: the stage runtime, the
// RL loop that wires sampling, rollout, reward and the learner together, the
// run configuration, checkpoints, metrics and evaluation.
//
// It contains no algorithm math; that lives in policy, sampling and reward.
package pipeline
