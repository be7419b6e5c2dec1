// Package policy holds the trainable policies (a causal transformer and a
// masked diffusion LM on gorgonia), their fast inference path, objectives,
// optimizer and weight serialization.
//
// It knows nothing about datasets or the CLI.
//
// # Trainable and the model families
//
// Trainable is what every model family offers the rest of rlpipe:
// generation, parameters, zero-grad, a frozen Clone, Save and its Kind.
// Where the families differ, learners assert small capability interfaces
// once: Causal (per-token log-probs under teacher forcing; Model),
// ELBOScorer, OneStepScorer, MaskedLM and DiffusionSampler
// (DiffusionModel). A family registers itself with RegisterFamily, after
// which NewTrainable builds it by kind and LoadTrainable reads its files
// (dispatching on MetaModelKind); no code outside this package asserts a
// concrete model type. The policy file format (weights plus tokenizer,
// version, diffusion settings and training data in the metadata) is
// policy/policyfile; the learners are policy/learn.
//
// # Model
//
// Model is a pre-LN transformer (Config: layers, width, heads, MLP width,
// context, vocabulary, gelu|relu, learned|rotary positions, causal or
// bidirectional attention) with an untied output head. Its float32 weights
// live in gorgonia tensors whose backing slices are shared, without copies,
// by three users:
//
//   - training (LogProbs, Accumulate): a gorgonia graph per padded batch
//     shape (B, T rounded up to a multiple of 16), compiled once and run on
//     a TapeMachine. The objective lives outside the graph: Accumulate hands
//     the per-token log-probs to a LossGradFunc and back-propagates the
//     returned dloss/dlogp (the graph's scalar is Σ dlogp ⊙ logp with dlogp
//     constant), adding into the gradient buffers. AccumulateWithEntropy
//     also hands over each position's tempered-distribution entropy H and
//     back-propagates dloss/dH (an entropy bonus), in a separate graph so
//     that objectives without one pay nothing for it.
//   - the optimizer, through Params (optim.Param values and gradients alias
//     the model's buffers).
//   - inference (Generate): a hand-written forward pass with a per-sequence
//     KV cache; every projection is one gonum blas32 sgemm over all active
//     sequences.
//
// A token's log-probability is everywhere log_softmax(logits/T)[token]
// over the full vocabulary (rowLogProb), so behaviour log-probs from
// Generate match LogProbs to float rounding (tested ≤ 1e-4; bit-exact with
// the pure-Go BLAS in practice) and LogProbs matches what Accumulate sees
// bit for bit.
//
// # Diffusion model
//
// DiffusionModel (diffusion*.go) is a LLaDA-style masked diffusion LM on
// the same weights and graphs with bidirectional attention: position i of
// the canvas prompt ⧺ completion predicts token i, hidden positions read
// MaskToken. It trains with AccumulateMaskedLM (SFT), AccumulateELBO
// (GDPO through objective.ELBOConfig's masking plans, shared by current,
// old and reference evaluations) and AccumulateOneStep (diffu-GRPO's
// per-token one-step log-probs, same plans), scores with ELBO and
// OneStepLogProbs, samples
// with Generate (iterative low-confidence unmasking in blocks, no KV
// cache, no behaviour log-probs), and is measured by policy/bench.ELBO
// (through MaskedSums). Its files
// carry MetaModelKind "diffusion"; Load and LoadDiffusion refuse each
// other's files.
//
// # Custom gorgonia ops
//
// gorgonia v0.9.18's SoftMax/LogSoftMax, LogSumExp, InverseSqrt and 1-D
// ByIndices are wrong or panic (DESIGN §6), so the graph uses fused ops of
// its own (op.go adapts them to gorgonia's Op and SDOp): layer norm,
// bias+activation, token(+position) embedding, multi-head attention with
// causal and padding masks and optional rotary positions (backward
// recomputes the probabilities), the tempered log-prob gather, and the
// loss hook. Stock ops used: Mul, Add, HadamardProd, Sum. Every op, and the
// whole model in float64, is checked against central finite differences.
// Gotcha: gorgonia merges unnamed input nodes of equal type and shape, so
// every input node is named.
//
// # BLAS
//
// Pure Go by default: matrix products go to policy/sgemm (AVX-512 or
// AVX2+FMA kernels in Go assembly generated with avo, chosen at run time,
// with a Go fallback; results do not depend on the thread count), every
// other routine to gonum. Build with -tags openblas and
// CGO_LDFLAGS=-lopenblas to route gonum blas32/blas64 and gorgonia's tensor
// engine to OpenBLAS (BLASName reports which). With OpenBLAS, results may
// depend on the batch size in the last float bits (it picks kernels by
// matrix shape); sampled tokens are unaffected in practice.
//
// # Concurrency
//
// Generate is safe for concurrent use while the weights are not modified.
// LogProbs and Accumulate serialise on the model's mutex; optimizer steps,
// ZeroGrad and Load/Save must not overlap Generate or each other.
package policy
