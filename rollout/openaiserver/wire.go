package openaiserver

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"

	"github.com/rlpipe/rlpipe/data"
)

// sampling holds the request fields shared by both endpoints.
type sampling struct {
	Model          string          `json:"model"`
	N              *int            `json:"n"`
	Temperature    *float64        `json:"temperature"`
	TopP           *float64        `json:"top_p"`
	TopK           *int            `json:"top_k"`
	MaxTokens      *int            `json:"max_tokens"`
	Stop           json.RawMessage `json:"stop"`
	Seed           json.RawMessage `json:"seed"`
	Stream         *bool           `json:"stream"`
	ReturnTokenIDs bool            `json:"return_token_ids"`
}

type completionRequest struct {
	sampling
	Prompt   json.RawMessage `json:"prompt"`
	Logprobs *int            `json:"logprobs"`
}

type chatRequest struct {
	sampling
	Messages            []chatMessageIn `json:"messages"`
	Logprobs            *bool           `json:"logprobs"`
	TopLogprobs         *int            `json:"top_logprobs"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
}

type chatMessageIn struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// job is a validated generation request.
type job struct {
	prompts   [][]int32
	n         int
	params    data.GenParams
	stops     []string
	seed      uint64
	hasSeed   bool
	logprobs  bool
	returnIDs bool
}

// parseSampling validates the shared fields into j (all but prompts).
func (s *Server) parseSampling(in *sampling, j *job) *apiError {
	if in.Stream != nil && *in.Stream {
		return badRequest("stream", "stream: true is not supported by this server; send a non-streaming request")
	}
	if in.Model == "" {
		return badRequest("model", "model is required (this server serves %q)", s.cfg.ModelName)
	}
	if in.Model != s.cfg.ModelName {
		e := newAPIError(404, "invalid_request_error", "model_not_found", "model %q does not exist (this server serves %q)", in.Model, s.cfg.ModelName)
		return e
	}
	j.n = 1
	if in.N != nil {
		j.n = *in.N
	}
	if j.n < 1 || j.n > s.cfg.MaxN {
		return badRequest("n", "n = %d, want 1..%d", j.n, s.cfg.MaxN)
	}
	if e := parseParams(in, &j.params, s.cfg); e != nil {
		return e
	}
	stops, e := parseStop(in.Stop)
	if e != nil {
		return e
	}
	j.stops = stops
	for _, st := range stops {
		if toks := s.codec.Encode(st); len(toks) == 1 {
			j.params.StopTokens = append(j.params.StopTokens, toks[0])
		}
	}
	j.seed, j.hasSeed, e = parseSeed(in.Seed)
	j.returnIDs = in.ReturnTokenIDs
	return e
}

func parseParams(in *sampling, p *data.GenParams, cfg Config) *apiError {
	if t := in.Temperature; t != nil {
		if math.IsNaN(*t) || *t < 0 || *t > 2 {
			return badRequest("temperature", "temperature %v not in [0, 2]", *t)
		}
		p.Temperature = *t
		p.Greedy = *t == 0
	}
	if tp := in.TopP; tp != nil {
		if math.IsNaN(*tp) || *tp <= 0 || *tp > 1 {
			return badRequest("top_p", "top_p %v not in (0, 1]", *tp)
		}
		p.TopP = *tp
	}
	if k := in.TopK; k != nil {
		if *k < -1 {
			return badRequest("top_k", "top_k %d, want -1 (off), 0 (off) or a positive count", *k)
		}
		p.TopK = max(*k, 0)
	}
	p.MaxNewTokens = cfg.DefaultNewTokens
	if m := in.MaxTokens; m != nil {
		if *m < 1 || *m > cfg.MaxTokens {
			return badRequest("max_tokens", "max_tokens %d not in 1..%d", *m, cfg.MaxTokens)
		}
		p.MaxNewTokens = *m
	}
	return nil
}

// parseStop accepts null, a string or an array of up to 16 non-empty strings.
func parseStop(raw json.RawMessage) ([]string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		if one == "" {
			return nil, badRequest("stop", "stop strings must not be empty")
		}
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil {
		return nil, badRequest("stop", "stop must be a string or an array of strings")
	}
	if len(many) > 16 {
		return nil, badRequest("stop", "at most 16 stop strings, got %d", len(many))
	}
	for _, s := range many {
		if s == "" {
			return nil, badRequest("stop", "stop strings must not be empty")
		}
	}
	return many, nil
}

// parseSeed accepts null or an integer in the int64 or uint64 range.
func parseSeed(raw json.RawMessage) (uint64, bool, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false, nil
	}
	if v, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return uint64(v), true, nil
	}
	if v, err := strconv.ParseUint(string(raw), 10, 64); err == nil {
		return v, true, nil
	}
	return 0, false, badRequest("seed", "seed must be an integer")
}

// parsePrompt accepts a string, an array of strings, an array of token ids
// or an array of token-id arrays, and returns the prompts as tokens.
func (s *Server) parsePrompt(raw json.RawMessage) ([][]int32, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, badRequest("prompt", "prompt is required")
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return [][]int32{s.codec.Encode(one)}, nil
	}
	var texts []string
	if json.Unmarshal(raw, &texts) == nil && len(texts) > 0 {
		out := make([][]int32, len(texts))
		for i, t := range texts {
			out[i] = s.codec.Encode(t)
		}
		return out, nil
	}
	var ids []int32
	if json.Unmarshal(raw, &ids) == nil && len(ids) > 0 {
		return [][]int32{ids}, nil
	}
	var batch [][]int32
	if json.Unmarshal(raw, &batch) == nil && len(batch) > 0 {
		for i, b := range batch {
			if len(b) == 0 {
				return nil, badRequest("prompt", "prompt %d is an empty token array", i)
			}
		}
		return batch, nil
	}
	return nil, badRequest("prompt", "prompt must be a string, a non-empty array of strings, of token ids, or of token-id arrays")
}

// checkPrompts refuses empty prompts, prompts longer than
// Config.MaxPromptTokens and token ids the model does not embed (negative
// or past its vocabulary), which no codec produces; param names the
// request field in the error.
func (s *Server) checkPrompts(prompts [][]int32, param string) *apiError {
	for i, p := range prompts {
		if len(p) == 0 {
			return badRequest(param, "prompt %d is empty", i)
		}
		if m := s.cfg.MaxPromptTokens; m > 0 && len(p) > m {
			e := badRequest(param, "prompt %d has %d tokens; this model's context allows at most %d prompt tokens", i, len(p), m)
			code := "context_length_exceeded"
			e.Code = &code
			return e
		}
		for _, t := range p {
			if t < 0 {
				return badRequest("prompt", "prompt %d holds negative token id %d", i, t)
			}
			if s.vocab > 0 && int(t) >= s.vocab {
				return badRequest("prompt", "prompt %d holds token id %d outside this model's vocabulary of %d", i, t, s.vocab)
			}
		}
	}
	return nil
}

// parseMessages turns chat messages into data.ChatMessages. Content is a
// string, null, or an array of {"type":"text","text":...} parts.
func parseMessages(in []chatMessageIn) ([]data.ChatMessage, *apiError) {
	if len(in) == 0 {
		return nil, badRequest("messages", "messages must be a non-empty array")
	}
	out := make([]data.ChatMessage, len(in))
	empty := true
	for i, m := range in {
		if m.Role == "" {
			return nil, badRequest("messages", "message %d has no role", i)
		}
		text, e := messageText(m.Content, i)
		if e != nil {
			return nil, e
		}
		out[i] = data.ChatMessage{Role: m.Role, Content: text}
		empty = empty && strings.TrimSpace(text) == ""
	}
	if empty {
		return nil, badRequest("messages", "every message is empty; send some content")
	}
	return out, nil
}

func messageText(raw json.RawMessage, i int) (string, *apiError) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", badRequest("messages", "message %d: content must be a string or an array of text parts", i)
	}
	var b bytes.Buffer
	for k, p := range parts {
		if p.Type != "text" {
			return "", badRequest("messages", "message %d part %d: only text parts are supported, got %q", i, k, p.Type)
		}
		b.WriteString(p.Text)
	}
	return b.String(), nil
}
