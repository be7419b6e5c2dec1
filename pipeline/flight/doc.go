// Package flight runs rlpipe's rollout and reward stages on remote workers
// over Arrow Flight (gRPC), and provides the client pools the RL loop uses
// to reach them.
//
// # Protocol
//
// Every worker serves two Flight actions and DoExchange:
//
//   - DoAction "status" returns one Result whose body is a JSON
//     WorkerStatus (role, versions held, reward settings).
//   - DoAction "set_weights" (rollout workers) carries the weights of one
//     policy version: the body is the version as 8 bytes little-endian,
//     followed by a safetensors file exactly as a policy.Trainable's Save
//     writes it; the model kind and config (and, if present,
//     the tokenizer spec under MetaTokenizer) come from its metadata. The
//     reply is one Result with body "ok".
//   - DoExchange carries one request. The client's first message holds a
//     FlightDescriptor of type CMD whose Cmd is a JSON RequestHeader; the
//     client then streams one or more record batches and closes its side.
//     A rollout worker takes prompts batches (data.PromptsSchema) and
//     answers with rollouts batches (data.RolloutsSchema); a reward worker
//     takes rollouts batches and answers with scored batches
//     (data.ScoredSchema), the last of which carries a JSON ScoreSummary as
//     app metadata. Replies are cut into batches of at most ReplyBatchRows
//     rows so that no gRPC message grows without bound.
//
// A rollout worker refuses a request for a policy version it does not hold
// with codes.FailedPrecondition; the pools push the weights and retry.
//
// # Determinism
//
// A rollout worker generates with rollout.InProcess exactly as the
// in-process path does, and every random draw depends only on (seed, step,
// round, mode, prompt_id, sample_idx), so a RolloutPool's rows are
// bit-identical to InProcess's for the same request whatever the number of
// workers, the chunking, or which worker retried a chunk.
package flight
