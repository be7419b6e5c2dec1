package openaiserver

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// choiceOut is one finished sequence, after stop strings were applied.
type choiceOut struct {
	prompt   int
	tokens   []int32
	text     string
	logprobs []float32 // nil when the model gave none
	finish   string
}

// run generates j.n sequences for each of j.prompts: admission through the
// limiter, one model call, then stop strings.
func (s *Server) run(ctx context.Context, j *job) ([]choiceOut, *apiError) {
	seed := j.seed
	if !j.hasSeed {
		seed = rng.ServerRequestSeed(s.cfg.Seed, s.requests.Add(1))
	}
	reqs := make([]data.GenRequest, 0, len(j.prompts)*j.n)
	for i, p := range j.prompts {
		id := promptID(p, i)
		mode := data.ModeTrace
		if strings.HasSuffix(s.codec.Decode(p), data.EmptyTrace) {
			mode = data.ModeEmpty
		}
		for k := 0; k < j.n; k++ {
			reqs = append(reqs, data.GenRequest{PromptID: id, SampleIdx: int32(k), Mode: mode, PromptTokens: p})
		}
	}
	if e := s.lim.acquire(ctx); e != nil {
		return nil, e
	}
	res, err := s.callModel(ctx, seed, reqs, j.params)
	s.lim.release()
	if err != nil {
		return nil, modelError(ctx, err)
	}
	if len(res) != len(reqs) {
		return nil, newAPIError(http.StatusInternalServerError, "server_error", "", "model returned %d results for %d sequences", len(res), len(reqs))
	}
	out := make([]choiceOut, len(res))
	for i, r := range res {
		out[i] = s.finish(i/j.n, r, j.stops)
	}
	return out, nil
}

// callModel runs the model and turns a panic into an error, so that one bad
// request cannot take the server down.
func (s *Server) callModel(ctx context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) (res []data.GenResult, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("openaiserver: model panicked: %v\n%s", v, debug.Stack())
		}
	}()
	return s.model.Generate(ctx, seed, reqs, p)
}

func modelError(ctx context.Context, err error) *apiError {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return newAPIError(http.StatusGatewayTimeout, "timeout", "timeout", "generation did not finish within the server's request timeout")
	case ctx.Err() != nil:
		return newAPIError(http.StatusServiceUnavailable, "server_error", "cancelled", "request cancelled")
	}
	return newAPIError(http.StatusInternalServerError, "server_error", "model_error", "model: %v", err)
}

// finish decodes r and applies the stop strings (see the package doc).
func (s *Server) finish(prompt int, r data.GenResult, stops []string) choiceOut {
	c := choiceOut{prompt: prompt, tokens: r.Tokens, logprobs: r.Logprobs, finish: r.FinishReason}
	if c.finish != data.FinishLength {
		c.finish = data.FinishStop
	}
	if len(c.logprobs) != len(c.tokens) || !finite(c.logprobs) {
		c.logprobs = nil
	}
	c.text = s.codec.Decode(c.tokens)
	cut, end := -1, 0
	for _, st := range stops {
		if i := strings.Index(c.text, st); i >= 0 && (cut < 0 || i < cut) {
			cut, end = i, i+len(st)
		}
	}
	if cut < 0 {
		return c
	}
	// The shortest token prefix whose text holds the stop string; decoded
	// length grows with the prefix for every sane codec.
	k := sort.Search(len(c.tokens), func(k int) bool { return len(s.codec.Decode(c.tokens[:k+1])) >= end }) + 1
	k = min(k, len(c.tokens))
	c.tokens = c.tokens[:k]
	if c.logprobs != nil {
		c.logprobs = c.logprobs[:k]
	}
	c.text = c.text[:cut]
	c.finish = data.FinishStop
	return c
}

func finite(xs []float32) bool {
	for _, x := range xs {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return false
		}
	}
	return true
}

// promptID keys a prompt's random streams by its tokens and its position in
// the request, so equal prompts in one request still get distinct samples.
func promptID(tokens []int32, pos int) uint64 {
	h := fnv.New64a()
	var b [4]byte
	for _, t := range tokens {
		b[0], b[1], b[2], b[3] = byte(t), byte(t>>8), byte(t>>16), byte(t>>24)
		h.Write(b[:])
	}
	return rng.ServerPromptKey(h.Sum64(), pos)
}
