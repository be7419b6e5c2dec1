package openaiserver

import (
	"fmt"
	"time"
)

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type completionResponse struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   usage              `json:"usage"`
}

type completionChoice struct {
	Index          int                 `json:"index"`
	Text           string              `json:"text"`
	Logprobs       *completionLogprobs `json:"logprobs"`
	FinishReason   string              `json:"finish_reason"`
	TokenIDs       *[]int32            `json:"token_ids,omitempty"`
	PromptTokenIDs *[]int32            `json:"prompt_token_ids,omitempty"`
}

type completionLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float64            `json:"token_logprobs"`
	TextOffset    []int                `json:"text_offset"`
	TopLogprobs   []map[string]float64 `json:"top_logprobs"`
}

type chatResponse struct {
	ID             string       `json:"id"`
	Object         string       `json:"object"`
	Created        int64        `json:"created"`
	Model          string       `json:"model"`
	Choices        []chatChoice `json:"choices"`
	Usage          usage        `json:"usage"`
	PromptTokenIDs *[]int32     `json:"prompt_token_ids,omitempty"`
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      chatMessage   `json:"message"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
	TokenIDs     *[]int32      `json:"token_ids,omitempty"`
}

type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatLogprobs struct {
	Content []tokenLogprob `json:"content"`
	Refusal []tokenLogprob `json:"refusal"`
}

type tokenLogprob struct {
	Token       string     `json:"token"`
	Logprob     float64    `json:"logprob"`
	Bytes       []int      `json:"bytes"`
	TopLogprobs []struct{} `json:"top_logprobs"`
}

func (s *Server) newID(prefix string) string { return fmt.Sprintf("%s-%x", prefix, s.ids.Add(1)) }

func countUsage(j *job, outs []choiceOut) usage {
	var u usage
	for _, p := range j.prompts {
		u.PromptTokens += len(p)
	}
	for _, c := range outs {
		u.CompletionTokens += len(c.tokens)
	}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	return u
}

func (s *Server) completionResponse(j *job, outs []choiceOut) completionResponse {
	resp := completionResponse{
		ID: s.newID("cmpl"), Object: "text_completion", Created: time.Now().Unix(),
		Model: s.cfg.ModelName, Choices: make([]completionChoice, len(outs)), Usage: countUsage(j, outs),
	}
	for i, c := range outs {
		ch := completionChoice{Index: i, Text: c.text, FinishReason: c.finish}
		if j.logprobs && c.logprobs != nil {
			ch.Logprobs = s.completionLogprobs(c)
		}
		if j.returnIDs {
			ch.TokenIDs = nonNil(c.tokens)
			ch.PromptTokenIDs = nonNil(j.prompts[c.prompt])
		}
		resp.Choices[i] = ch
	}
	return resp
}

func (s *Server) completionLogprobs(c choiceOut) *completionLogprobs {
	lp := &completionLogprobs{
		Tokens: make([]string, len(c.tokens)), TokenLogprobs: make([]float64, len(c.tokens)),
		TextOffset: make([]int, len(c.tokens)),
	}
	off := 0
	for k, t := range c.tokens {
		piece := s.codec.Decode([]int32{t})
		lp.Tokens[k], lp.TokenLogprobs[k], lp.TextOffset[k] = piece, float64(c.logprobs[k]), off
		off += len(piece)
	}
	return lp
}

func (s *Server) chatResponse(j *job, outs []choiceOut) chatResponse {
	resp := chatResponse{
		ID: s.newID("chatcmpl"), Object: "chat.completion", Created: time.Now().Unix(),
		Model: s.cfg.ModelName, Choices: make([]chatChoice, len(outs)), Usage: countUsage(j, outs),
	}
	if j.returnIDs {
		resp.PromptTokenIDs = nonNil(j.prompts[0])
	}
	for i, c := range outs {
		ch := chatChoice{Index: i, Message: chatMessage{Role: "assistant", Content: c.text}, FinishReason: c.finish}
		if j.logprobs && c.logprobs != nil {
			ch.Logprobs = &chatLogprobs{Content: make([]tokenLogprob, len(c.tokens)), Refusal: []tokenLogprob{}}
			for k, t := range c.tokens {
				piece := s.codec.Decode([]int32{t})
				ch.Logprobs.Content[k] = tokenLogprob{Token: piece, Logprob: float64(c.logprobs[k]), Bytes: s.tokenBytes(t, piece), TopLogprobs: []struct{}{}}
			}
		}
		if j.returnIDs {
			ch.TokenIDs = nonNil(c.tokens)
		}
		resp.Choices[i] = ch
	}
	return resp
}

// nonNil returns a pointer to ids, never to nil, so that an empty id list is
// sent as [] rather than omitted.
func nonNil(ids []int32) *[]int32 {
	if ids == nil {
		ids = []int32{}
	}
	return &ids
}

// rawTokenBytes is implemented by codecs that know the bytes a token stands
// for, which differ from its text when the token is part of a character
// (the text is then U+FFFD).
type rawTokenBytes interface {
	TokenBytes(id int32) []byte
}

// tokenBytes is the logprobs `bytes` of token t: its raw bytes when the
// codec knows them, so that a client can join a character split across
// tokens, else the bytes of its text.
func (s *Server) tokenBytes(t int32, piece string) []int {
	raw := []byte(piece)
	if rb, ok := s.codec.(rawTokenBytes); ok {
		raw = rb.TokenBytes(t)
	}
	out := make([]int, len(raw))
	for i, c := range raw {
		out[i] = int(c)
	}
	return out
}
