package rollout

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/openai/openai-go/v3"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// sample is one choice of a server answer.
type sample struct {
	index     int
	text      string
	tokens    []int32 // nil when the server sent no ids
	logprobs  []float32
	finish    string
	promptIDs []int32 // the server's prompt token ids, when sent
}

// group rolls out the G samples of one (prompt, mode): one request with
// n = G, then single-sample requests for whatever the server did not
// return. Lost samples are nil entries; the error is non-nil only when the
// whole call must stop (cancellation, ErrRemote).
func (g *OpenAI) group(ctx context.Context, st *statCounters, model string, req *Request, p data.Prompt, mode uint8) ([]*data.Rollout, error) {
	r := g.tmpl.Render(p.Prompt, mode)
	if g.render != nil {
		text, err := g.render.Render(p, mode)
		if err != nil {
			return nil, fmt.Errorf("rollout: rendering prompt %d: %w", p.ID, err)
		}
		r.Text = text
	}
	var promptTokens []int32
	if g.codec != nil {
		promptTokens = g.codec.Encode(r.Text)
	}
	seed := rng.OpenAIGroupSeed(StepSeed(req.Seed, req.Step, req.Round, mode), p.ID)
	rows := make([]*data.Rollout, req.G)
	place := func(s int, sm sample) {
		row := &data.Rollout{
			PromptID: p.ID, Dataset: p.Dataset, Prompt: p.Prompt, Answer: p.Answer, Meta: p.Meta,
			SampleIdx: int32(s), Mode: mode, PolicyVersion: req.PolicyVersion, PromptTokens: promptTokens,
		}
		if sm.promptIDs != nil {
			row.PromptTokens = sm.promptIDs
		}
		g.fillCompletion(row, sm)
		rows[s] = row
	}
	got, err := g.request(ctx, st, model, r, req.G, seed, req.Params)
	if err != nil {
		if fatal(ctx, err) {
			return nil, err
		}
		st.drop(req.G, err)
		return rows, nil
	}
	for s, sm := range assign(got, req.G) {
		if sm != nil {
			place(s, *sm)
		}
	}
	for s := range rows {
		if rows[s] != nil {
			continue
		}
		st.fallbacks.Add(1)
		one, err := g.request(ctx, st, model, r, 1, rng.OpenAIFallbackSeed(seed, s), req.Params)
		switch {
		case err != nil && fatal(ctx, err):
			return nil, err
		case err != nil:
			st.drop(1, err)
		case len(one) == 0:
			st.drop(1, errNoChoice)
		default:
			place(s, one[0])
		}
	}
	return rows, nil
}

// assign maps choices to sample slots by their index, or by position when
// the indices are not a clean subset of 0..n-1 (some servers send all 0).
func assign(choices []sample, n int) []*sample {
	out := make([]*sample, n)
	for i := range choices {
		c := &choices[i]
		if c.index < 0 || c.index >= n || out[c.index] != nil {
			clear(out)
			for k := 0; k < min(n, len(choices)); k++ {
				out[k] = &choices[k]
			}
			return out
		}
		out[c.index] = c
	}
	return out
}

// fillCompletion sets the completion columns: tokens from the server's ids,
// else from the Codec, else nil; log-probs are kept only when they line up
// with the tokens (or when there are no tokens to line up with).
func (g *OpenAI) fillCompletion(row *data.Rollout, sm sample) {
	row.Completion = sm.text
	row.FinishReason = sm.finish
	row.CompletionTokens = sm.tokens
	if row.CompletionTokens == nil && g.codec != nil {
		row.CompletionTokens = g.codec.Encode(sm.text)
	}
	row.Logprobs = sm.logprobs
	if row.CompletionTokens != nil && len(row.Logprobs) != len(row.CompletionTokens) {
		row.Logprobs = nil
	}
}

// request sends one generation request with retries.
func (g *OpenAI) request(ctx context.Context, st *statCounters, model string, r data.Rendered, n int, seed uint64, p data.GenParams) ([]sample, error) {
	var out []sample
	err := g.withRetry(ctx, st, func(ctx context.Context) error {
		var err error
		if g.cfg.API == APIChat {
			out, err = g.chatOnce(ctx, model, r, n, seed, p)
		} else {
			out, err = g.completionOnce(ctx, model, r, n, seed, p)
		}
		return err
	})
	return out, err
}

// wireSeed turns a 64-bit seed into the non-negative 31-bit integer every
// server accepts (llama.cpp parses seed as a 32-bit unsigned integer).
func wireSeed(seed uint64) int64 { return int64(seed >> 33) }

// sampling returns temperature, top-p and max tokens as sent.
func sampling(p data.GenParams) (temp, topP float64, maxTokens int64) {
	r := p.Resolved()
	temp = r.Temperature
	if p.Greedy {
		temp = 0
	}
	return temp, r.TopP, int64(r.MaxNewTokens)
}

// stops returns the configured stop strings plus the decoded stop tokens.
func (g *OpenAI) stops(p data.GenParams) []string {
	out := append([]string(nil), g.cfg.Stop...)
	if g.codec != nil {
		for _, t := range p.StopTokens {
			if s := g.codec.Decode([]int32{t}); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

// extras returns the non-OpenAI fields that vLLM-style servers understand.
func (g *OpenAI) extras(p data.GenParams, prefill bool) map[string]any {
	m := map[string]any{}
	if p.TopK > 0 && !p.Greedy {
		m["top_k"] = p.TopK
	}
	if g.cfg.ReturnTokenIDs {
		m["return_token_ids"] = true
	}
	if prefill {
		m["continue_final_message"] = true
		m["add_generation_prompt"] = false
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func (g *OpenAI) completionOnce(ctx context.Context, model string, r data.Rendered, n int, seed uint64, p data.GenParams) ([]sample, error) {
	temp, topP, maxTokens := sampling(p)
	params := openai.CompletionNewParams{
		Model:  openai.CompletionNewParamsModel(model),
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String(r.Text)},
		N:      openai.Int(int64(n)), Seed: openai.Int(wireSeed(seed)), MaxTokens: openai.Int(maxTokens),
		Temperature: openai.Float(temp), TopP: openai.Float(topP),
	}
	if !g.cfg.NoLogprobs {
		params.Logprobs = openai.Int(0)
	}
	if stops := g.stops(p); len(stops) > 0 {
		params.Stop = openai.CompletionNewParamsStopUnion{OfStringArray: stops}
	}
	if m := g.extras(p, false); m != nil {
		params.SetExtraFields(m)
	}
	resp, err := g.completions.New(ctx, params)
	if err != nil {
		return nil, err
	}
	out := make([]sample, len(resp.Choices))
	for i, ch := range resp.Choices {
		s := sample{index: int(ch.Index), text: ch.Text, finish: finishReason(string(ch.FinishReason))}
		if ch.JSON.Logprobs.Valid() && ch.Logprobs.JSON.TokenLogprobs.Valid() {
			s.logprobs = toFloat32(ch.Logprobs.TokenLogprobs)
		}
		s.tokens = idsField(ch.JSON.ExtraFields["token_ids"].Raw())
		if s.tokens == nil && ch.JSON.Logprobs.Valid() {
			s.tokens = tokenIDStrings(ch.Logprobs.Tokens)
		}
		s.promptIDs = idsField(ch.JSON.ExtraFields["prompt_token_ids"].Raw())
		out[i] = s
	}
	return out, nil
}

func (g *OpenAI) chatOnce(ctx context.Context, model string, r data.Rendered, n int, seed uint64, p data.GenParams) ([]sample, error) {
	temp, topP, maxTokens := sampling(p)
	msgs, prefill := g.chatMessages(r)
	params := openai.ChatCompletionNewParams{
		Model: model, Messages: msgs,
		N: openai.Int(int64(n)), Seed: openai.Int(wireSeed(seed)), MaxTokens: openai.Int(maxTokens),
		Temperature: openai.Float(temp), TopP: openai.Float(topP),
	}
	if !g.cfg.NoLogprobs {
		params.Logprobs = openai.Bool(true)
	}
	if stops := g.stops(p); len(stops) > 0 {
		params.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: stops}
	}
	if m := g.extras(p, prefill); m != nil {
		params.SetExtraFields(m)
	}
	resp, err := g.chat.New(ctx, params)
	if err != nil {
		return nil, err
	}
	promptIDs := idsField(resp.JSON.ExtraFields["prompt_token_ids"].Raw())
	out := make([]sample, len(resp.Choices))
	for i, ch := range resp.Choices {
		s := sample{index: int(ch.Index), text: ch.Message.Content, finish: finishReason(ch.FinishReason), promptIDs: promptIDs}
		if ch.JSON.Logprobs.Valid() && ch.Logprobs.JSON.Content.Valid() {
			s.logprobs = make([]float32, len(ch.Logprobs.Content))
			toks := make([]string, len(ch.Logprobs.Content))
			for k, c := range ch.Logprobs.Content {
				s.logprobs[k], toks[k] = float32(c.Logprob), c.Token
			}
			s.tokens = tokenIDStrings(toks)
		}
		if ids := idsField(ch.JSON.ExtraFields["token_ids"].Raw()); ids != nil {
			s.tokens = ids
		}
		out[i] = s
	}
	return out, nil
}

// chatMessages converts the rendered prompt; a plain template becomes one
// user message. It reports whether the last message is an assistant
// prefill (empty-trace mode), which the server must continue.
func (g *OpenAI) chatMessages(r data.Rendered) ([]openai.ChatCompletionMessageParamUnion, bool) {
	msgs := r.Messages
	if msgs == nil {
		text, prefill := strings.CutSuffix(r.Text, data.EmptyTrace)
		msgs = []data.ChatMessage{{Role: "user", Content: text}}
		if prefill {
			msgs = append(msgs, data.ChatMessage{Role: "assistant", Content: data.EmptyTrace})
		}
	}
	out := make([]openai.ChatCompletionMessageParamUnion, len(msgs))
	for i, m := range msgs {
		switch m.Role {
		case "system":
			out[i] = openai.SystemMessage(m.Content)
		case "assistant":
			out[i] = openai.AssistantMessage(m.Content)
		case "developer":
			out[i] = openai.DeveloperMessage(m.Content)
		default:
			out[i] = openai.UserMessage(m.Content)
		}
	}
	return out, len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant"
}

func finishReason(s string) string {
	if s == data.FinishLength {
		return data.FinishLength
	}
	return data.FinishStop
}

func toFloat32(xs []float64) []float32 {
	out := make([]float32, len(xs))
	for i, x := range xs {
		out[i] = float32(x)
	}
	return out
}

// idsField parses a JSON array of token ids; nil when absent or malformed.
func idsField(raw string) []int32 {
	if raw == "" || raw == "null" {
		return nil
	}
	var ids []int32
	if json.Unmarshal([]byte(raw), &ids) != nil {
		return nil
	}
	if ids == nil {
		ids = []int32{}
	}
	return ids
}

// tokenIDStrings reads vLLM's "token_id:N" token strings
// (--return-tokens-as-token-ids); nil unless every token has that form.
func tokenIDStrings(toks []string) []int32 {
	if len(toks) == 0 {
		return nil
	}
	out := make([]int32, len(toks))
	for i, t := range toks {
		v, ok := strings.CutPrefix(t, "token_id:")
		if !ok {
			return nil
		}
		id, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return nil
		}
		out[i] = int32(id)
	}
	return out
}
