package rollouttest

import (
	"context"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// ByteCodec maps each byte of a string to one token (0..255) and back. It is
// stateless and safe for concurrent use.
type ByteCodec struct{}

// Encode returns one token per byte of s.
func (ByteCodec) Encode(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}

// Decode returns the text of ids' bytes as rlpipe's tokenizers do: invalid
// UTF-8 becomes U+FFFD (data.LossyUTF8); ids outside 0..255 decode to '?'.
func (ByteCodec) Decode(ids []int32) string {
	b := make([]byte, 0, len(ids))
	for _, id := range ids {
		if id < 0 || id > 255 {
			b = append(b, '?')
			continue
		}
		b = append(b, byte(id))
	}
	return data.LossyUTF8(b)
}

// TokenBytes returns the byte id stands for (nil outside 0..255).
func (ByteCodec) TokenBytes(id int32) []byte {
	if id < 0 || id > 255 {
		return nil
	}
	return []byte{byte(id)}
}

// TemplateRenderer adapts a data.Template to rollout.Renderer by rendering
// the template's Text form.
type TemplateRenderer struct{ Template data.Template }

// Render returns the rendered text of p in mode.
func (r TemplateRenderer) Render(p data.Prompt, mode uint8) (string, error) {
	return r.Template.Render(p.Prompt, mode).Text, nil
}

// HashModel is a deterministic rollout.Model over ByteCodec tokens. Each
// sequence's completion is a pure function of (seed, PromptID, SampleIdx) —
// of (seed, PromptID) alone when decoding greedily — and of whether the
// prompt ends with data.EmptyTrace:
//
//	trace mode:       "<think>" + 1..6 letters + "</think><answer>" + digits + "</answer>"
//	empty-trace mode: "<answer>" + digits + "</answer>"
//
// It honours MaxNewTokens (finish "length") and StopTokens (the stop token is
// kept as the last token, finish "stop"), and returns one log-probability in
// (-1, 0) per token. Delay, when set, is slept per call (respecting ctx) to
// simulate work. The zero value is ready; it is safe for concurrent use.
type HashModel struct {
	Delay time.Duration
}

// Generate completes every request; it fails only when ctx is done.
func (m HashModel) Generate(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.Delay > 0 {
		t := time.NewTimer(m.Delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	p = p.Resolved()
	out := make([]data.GenResult, len(reqs))
	for i, r := range reqs {
		out[i] = hashComplete(seed, r, p)
	}
	return out, nil
}

func hashComplete(seed uint64, r data.GenRequest, p data.GenParams) data.GenResult {
	s := rng.HashModelKey(seed, r.PromptID, r.SampleIdx, p.Greedy)
	text := answerText(&s)
	if !endsWith(r.PromptTokens, data.EmptyTrace) {
		text = data.ThinkOpen + letters(&s) + data.ThinkClose + text
	}
	res := data.GenResult{FinishReason: data.FinishStop}
	for i := 0; i < len(text); i++ {
		if len(res.Tokens) == p.MaxNewTokens {
			res.FinishReason = data.FinishLength
			break
		}
		tok := int32(text[i])
		s = rng.SplitMix64(s)
		res.Tokens = append(res.Tokens, tok)
		res.Logprobs = append(res.Logprobs, -float32(s%1000+1)/1001)
		if isStop(tok, p.StopTokens) {
			break
		}
	}
	return res
}

func answerText(s *uint64) string {
	*s = rng.SplitMix64(*s)
	return data.AnswerOpen + itoa(*s%1000) + data.AnswerClose
}

func letters(s *uint64) string {
	*s = rng.SplitMix64(*s)
	n := 1 + int(*s%6)
	b := make([]byte, n)
	for i := range b {
		*s = rng.SplitMix64(*s)
		b[i] = byte('a' + *s%26)
	}
	return string(b)
}

func itoa(v uint64) string {
	if v == 0 {
		return "0"
	}
	var b []byte
	for ; v > 0; v /= 10 {
		b = append([]byte{byte('0' + v%10)}, b...)
	}
	return string(b)
}

func isStop(tok int32, stops []int32) bool {
	for _, s := range stops {
		if s == tok {
			return true
		}
	}
	return false
}

func endsWith(tokens []int32, suffix string) bool {
	if len(tokens) < len(suffix) {
		return false
	}
	tail := tokens[len(tokens)-len(suffix):]
	for i := range tail {
		if tail[i] != int32(suffix[i]) {
			return false
		}
	}
	return true
}
