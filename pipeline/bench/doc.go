// Package bench holds rlpipe's measurements that run whole jobs or roll
// out from checkpoints: the RL loop's step time against its slowest stage
// (Pipeline), BVPO's DPO gradient estimators against a high-sample
// reference (BVPO), and a diffusion checkpoint's ELBO estimators on its own
// rollouts (ELBO, which measures through policy/bench). rlpipe bench
// pipeline|bvpo|elbo parse flags, call these and print; the JSON field
// names of the results are that command's output format.
//
// It sits beside the RL loop, not inside it: bench imports pipeline,
// rollout, reward and policy, and nothing in the production path imports
// bench.
package bench
