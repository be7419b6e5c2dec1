// Package learn holds rlpipe's learners: the algorithms that turn a step's
// scored rollouts into a policy update, and the supervised warm start.
//
// A Learner is built by New from an Env (the policy, its frozen reference,
// the optimizer and schedule, the algorithm section of the run
// configuration) and picked by Config.Name from a registry: the GRPO
// family (rlpipe, grpo, dr_grpo, dapo: group advantages, optional KL in
// the reward, the clipped surrogate with optional entropy bonus), bvpo
// (α-mixed trace and empty-trace losses on DPO pairs or GRPO, with the
// auto-α estimator), gdpo and diffu_grpo (sequence ELBO or per-token
// one-step ratios of a masked diffusion policy). A new algorithm is one
// file with its constructor and a Register call.
//
// Update fills the batch's advantage columns and steps the optimizer; the
// math it calls (advantages, losses, DPO pairing, α estimation, mixing)
// lives in policy/objective. A learner that carries state from step to
// step beyond the weights and optimizer moments (BVPO's auto-α estimator)
// returns it from State, and a checkpoint saves and restores it through
// that one interface, so that a resumed run continues bit for bit.
//
// Learners reach the policy only through policy.Trainable and the
// capability interfaces their algorithm needs (policy.Causal for the GRPO
// family and BVPO, policy.ELBOScorer and policy.OneStepScorer for GDPO),
// asserted once in the constructor; SFT trains any policy.Causal by mean
// negative log-likelihood and any policy.MaskedLM by its masked-diffusion
// objective.
//
// Every random draw is derived from the run seed and the step, exactly as
// before this package existed, so results are unchanged bit for bit.
// Learners are driven by one goroutine. learntest.Run is the conformance
// suite a new learner passes (deterministic updates, exact resume through
// State); trainrows holds the row fixtures of the tests.
package learn
