package flight

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"google.golang.org/grpc"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/rollout"
)

// Action names served by the workers.
const (
	// ActionStatus returns a JSON WorkerStatus.
	ActionStatus = "status"
	// ActionSetWeights installs one policy version on a rollout worker.
	ActionSetWeights = "set_weights"
)

// Worker roles (WorkerStatus.Role, RequestHeader.Role).
const (
	RoleRollout = "rollout"
	RoleReward  = "reward"
)

// MetaTokenizer is the safetensors metadata key holding the tokenizer spec:
// the key policy files carry it under.
const MetaTokenizer = policyfile.MetaTokenizer

// ReplyBatchRows is the most rows a worker puts in one reply batch.
const ReplyBatchRows = 2048

// maxMessage bounds one gRPC message (weights and record batches); gRPC's
// default of 4 MiB is too small for weights of any real model.
const maxMessage = 1 << 30

var (
	// ErrNoWorkers is wrapped by a pool's error when no live worker is left.
	ErrNoWorkers = errors.New("flight: no live workers")
	// ErrProtocol reports a malformed message between pool and worker.
	ErrProtocol = errors.New("flight: protocol error")
	// ErrRemote wraps an error a worker returned for a request it could not
	// serve (bad request, generation or reward failure); retrying it on
	// another worker would fail the same way, so the pools do not.
	ErrRemote = errors.New("flight: worker error")
)

// RequestHeader is the JSON command of a DoExchange request: everything of
// rollout.Request except the prompts, which travel as record batches.
type RequestHeader struct {
	// Role is RoleRollout or RoleReward; a worker refuses the other role's
	// requests.
	Role string `json:"role"`
	// The rollout.Request fields (rollout role only).
	G             int    `json:"g,omitempty"`
	Modes         []int  `json:"modes,omitempty"`
	Seed          uint64 `json:"seed,omitempty"`
	Step          int64  `json:"step,omitempty"`
	Round         int    `json:"round,omitempty"`
	PolicyVersion int64  `json:"policy_version"`
	// Weights is the policy version to generate with; PolicyVersion is only
	// recorded on the rows (the two are equal in the RL loop).
	Weights int64  `json:"weights"`
	Params  Params `json:"params"`
	// Template and System select the data.Template prompts are rendered
	// with ("" is plain).
	Template string `json:"template,omitempty"`
	System   string `json:"system,omitempty"`
	// Diffusion, when set, is the sampling configuration a diffusion policy
	// must use (ignored by causal policies).
	Diffusion *policy.DiffusionGenConfig `json:"diffusion,omitempty"`
}

// Params is data.GenParams on the wire. Go's JSON float formatting
// round-trips float64 exactly.
type Params struct {
	Temperature  float64 `json:"temperature"`
	TopP         float64 `json:"top_p"`
	TopK         int     `json:"top_k"`
	MaxNewTokens int     `json:"max_new_tokens"`
	StopTokens   []int32 `json:"stop_tokens,omitempty"`
	Greedy       bool    `json:"greedy,omitempty"`
}

func paramsOf(p data.GenParams) Params {
	return Params{Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK, MaxNewTokens: p.MaxNewTokens, StopTokens: p.StopTokens, Greedy: p.Greedy}
}

func (p Params) genParams() data.GenParams {
	return data.GenParams{Temperature: p.Temperature, TopP: p.TopP, TopK: p.TopK, MaxNewTokens: p.MaxNewTokens, StopTokens: p.StopTokens, Greedy: p.Greedy}
}

// rolloutHeader builds the header of req (its prompts excluded).
func rolloutHeader(req rollout.Request, tmpl data.Template, diff *policy.DiffusionGenConfig) RequestHeader {
	h := RequestHeader{Role: RoleRollout, G: req.G, Seed: req.Seed, Step: req.Step, Round: req.Round,
		PolicyVersion: req.PolicyVersion, Params: paramsOf(req.Params), Template: tmpl.Kind, System: tmpl.System, Diffusion: diff}
	for _, m := range req.Modes {
		h.Modes = append(h.Modes, int(m))
	}
	return h
}

// request rebuilds the rollout.Request (without prompts) and template.
func (h RequestHeader) request() (rollout.Request, data.Template, error) {
	req := rollout.Request{G: h.G, Seed: h.Seed, Step: h.Step, Round: h.Round, PolicyVersion: h.PolicyVersion, Params: h.Params.genParams()}
	for _, m := range h.Modes {
		if m < 0 || m > 255 {
			return req, data.Template{}, fmt.Errorf("%w: header field \"modes\": %d out of range", ErrProtocol, m)
		}
		req.Modes = append(req.Modes, uint8(m))
	}
	tmpl := data.Template{Kind: h.Template, System: h.System}
	if err := tmpl.Validate(); err != nil {
		return req, tmpl, fmt.Errorf("%w: header field \"template\": %v", ErrProtocol, err)
	}
	if err := req.Validate(); err != nil {
		return req, tmpl, err
	}
	return req, tmpl, nil
}

// ParseRequestHeader decodes a DoExchange command, rejecting unknown fields.
func ParseRequestHeader(cmd []byte) (RequestHeader, error) {
	var h RequestHeader
	if err := strictJSON(cmd, &h); err != nil {
		return h, fmt.Errorf("%w: request header: %v", ErrProtocol, err)
	}
	if h.Role != RoleRollout && h.Role != RoleReward {
		return h, fmt.Errorf("%w: request header field \"role\": %q is not %q or %q", ErrProtocol, h.Role, RoleRollout, RoleReward)
	}
	return h, nil
}

// WorkerStatus is the reply of ActionStatus.
type WorkerStatus struct {
	Role string `json:"role"`
	// Versions lists the policy versions a rollout worker holds, least
	// recently installed first.
	Versions []int64 `json:"versions,omitempty"`
	// Kind is the held policy's kind: "autoregressive" or "diffusion".
	Kind string `json:"kind,omitempty"`
	// OnError and MaxErrorRate are a reward worker's resolved policy.
	OnError      string  `json:"on_error,omitempty"`
	MaxErrorRate float64 `json:"max_error_rate,omitempty"`
}

// ScoreSummary is the app metadata of a reward worker's last reply batch.
type ScoreSummary struct {
	// Rows and Errors count the request's rows and the rows whose reward
	// failed (before the on_error policy).
	Rows   int `json:"rows"`
	Errors int `json:"errors"`
	// MaxErrorRate is the worker's resolved max_error_rate, which the pool
	// applies to the whole batch (workers apply on_error per group but
	// leave the rate to the pool, since they see only part of a batch).
	MaxErrorRate float64 `json:"max_error_rate"`
	// First describes the first failed row ("" when none), its index
	// relative to the request.
	First    string `json:"first,omitempty"`
	FirstRow int    `json:"first_row,omitempty"`
}

// wireSummary is the ScoreSummary sent for a worker's reward.Summary.
func wireSummary(s reward.Summary) ScoreSummary {
	return ScoreSummary{Rows: s.Rows, Errors: s.Errors, MaxErrorRate: s.MaxErrorRate, First: s.First, FirstRow: s.FirstRow}
}

// summary is the reward.Summary a worker sent (without counts by kind,
// which the wire does not carry).
func (s ScoreSummary) summary() reward.Summary {
	return reward.Summary{Counts: reward.Counts{Rows: s.Rows, Errors: s.Errors}, MaxErrorRate: s.MaxErrorRate, First: s.First, FirstRow: s.FirstRow}
}

// EncodeSetWeights frames a set_weights body: version as 8 bytes
// little-endian, then the safetensors bytes.
func EncodeSetWeights(version int64, safetensors []byte) []byte {
	b := make([]byte, 8, 8+len(safetensors))
	binary.LittleEndian.PutUint64(b, uint64(version))
	return append(b, safetensors...)
}

// DecodeSetWeights splits a set_weights body into version and safetensors
// bytes (aliasing body).
func DecodeSetWeights(body []byte) (int64, []byte, error) {
	if len(body) < 8 {
		return 0, nil, fmt.Errorf("%w: set_weights body of %d bytes, want >= 8", ErrProtocol, len(body))
	}
	return int64(binary.LittleEndian.Uint64(body)), body[8:], nil
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data")
	}
	return nil
}

// serverOptions and dialOptions raise gRPC's message limits to maxMessage.
func serverOptions() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMessage), grpc.MaxSendMsgSize(maxMessage)}
}

func callOptions() grpc.DialOption {
	return grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxMessage), grpc.MaxCallSendMsgSize(maxMessage))
}
