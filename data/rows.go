package data

import "hash/fnv"

// Rollout modes (column mode).
const (
	// ModeTrace is a normal rollout: the policy writes its reasoning trace.
	ModeTrace uint8 = 0
	// ModeEmpty is an empty-trace rollout: the prompt already ends with
	// "<think></think>" and the policy answers directly.
	ModeEmpty uint8 = 1
)

// Finish reasons (column finish_reason).
const (
	// FinishStop means generation ended on a stop token or end of sequence.
	FinishStop = "stop"
	// FinishLength means generation hit the token budget.
	FinishLength = "length"
)

// Prompt is one row of a prompts batch.
type Prompt struct {
	// ID is the stable prompt id, see PromptID.
	ID uint64
	// Dataset names the dataset the prompt came from.
	Dataset string
	// Prompt is the task text (not yet rendered through a Template).
	Prompt string
	// Answer is the reference answer the verifiers compare against.
	Answer string
	// Meta is a JSON object with the row's extra fields; "{}" when empty.
	Meta string
}

// Rollout is one row of a rollouts batch: a prompt and one sampled completion.
type Rollout struct {
	PromptID uint64
	Dataset  string
	Prompt   string
	Answer   string
	Meta     string
	// SampleIdx is the index of this sample within its prompt's group (0..G-1).
	SampleIdx int32
	// Mode is ModeTrace or ModeEmpty.
	Mode uint8
	// PolicyVersion is the weights version that generated the completion.
	PolicyVersion    int64
	PromptTokens     []int32
	CompletionTokens []int32
	Completion       string
	// Logprobs are the behaviour policy's per-token log-probabilities of
	// CompletionTokens; nil is stored as null (diffusion policies).
	Logprobs []float32
	// FinishReason is FinishStop or FinishLength.
	FinishReason string
}

// Scored is one row of a scored batch: a rollout and its reward.
type Scored struct {
	Rollout
	// Reward is the weighted total reward.
	Reward float64
	// RewardParts holds each named reward's value before weighting.
	RewardParts map[string]float64
	// RewardError describes why the reward could not be computed; "" is
	// stored as null and means no error.
	RewardError string
}

// TrainRow is one row of a train batch: a scored rollout and its advantage.
type TrainRow struct {
	Scored
	Advantage float32
	GroupMean float32
	GroupStd  float32
	// Keep is false where a filter dropped the row's group.
	Keep bool
}

// PromptID returns the stable id of the row with the given key in dataset:
// FNV-1a 64 of dataset + "\x00" + key. It never changes between releases,
// because checkpoints and sampler statistics are keyed by it.
func PromptID(dataset, key string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(dataset))
	h.Write([]byte{0})
	h.Write([]byte(key))
	return h.Sum64()
}
