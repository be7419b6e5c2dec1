// Package pipeline runs rlpipe's concurrent stages: the stage runtime, the
// RL loop that wires sampling, rollout, reward and the learner together, the
// run configuration, checkpoints, metrics and evaluation.
//
// It contains no algorithm math; that lives in policy (the learners in
// policy/learn), sampling and reward. The learner is built by name from the
// algorithm section (learn.New) and driven through learn.Learner.Update.
package pipeline
