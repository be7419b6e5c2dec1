package openaiserver

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"runtime/debug"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/models", s.listModels)
	mux.HandleFunc("GET /v1/models/{id}", s.getModel)
	mux.HandleFunc("POST /v1/completions", s.completions)
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, struct{}{}) })
	mux.HandleFunc("/", notFound)
	return recoverPanics(s.requireKey(mux))
}

// requireKey answers 401 to requests without the configured bearer token;
// /health stays open for liveness probes. Without a key it is next itself.
func (s *Server) requireKey(next http.Handler) http.Handler {
	if s.cfg.APIKey == "" {
		return next
	}
	// Comparing digests keeps the comparison's time independent of the
	// key's length as well as its content.
	want := sha256.Sum256([]byte("Bearer " + s.cfg.APIKey))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		sum := sha256.Sum256([]byte(got))
		if r.URL.Path != "/health" && subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="rlpipe"`)
			msg := "incorrect API key provided"
			if got == "" {
				msg = "missing API key: send \"Authorization: Bearer KEY\""
			}
			writeError(w, newAPIError(http.StatusUnauthorized, "invalid_request_error", "invalid_api_key", "%s", msg))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func notFound(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/v1/models", "/v1/completions", "/v1/chat/completions", "/health":
		writeError(w, newAPIError(http.StatusMethodNotAllowed, "invalid_request_error", "method_not_allowed", "method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, newAPIError(http.StatusNotFound, "invalid_request_error", "not_found", "no endpoint %s %s", r.Method, r.URL.Path))
}

// recoverPanics answers a handler panic with an OpenAI-shaped 500 instead of
// a dropped connection.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				writeError(w, newAPIError(http.StatusInternalServerError, "server_error", "", "internal error: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

type modelCard struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) card() modelCard {
	return modelCard{ID: s.cfg.ModelName, Object: "model", Created: s.started.Unix(), OwnedBy: "rlpipe"}
}

func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, struct {
		Object string      `json:"object"`
		Data   []modelCard `json:"data"`
	}{"list", []modelCard{s.card()}})
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("id") != s.cfg.ModelName {
		writeError(w, newAPIError(http.StatusNotFound, "invalid_request_error", "model_not_found", "model %q does not exist", r.PathValue("id")))
		return
	}
	writeJSON(w, http.StatusOK, s.card())
}

// decodeBody reads at most MaxBodyBytes of JSON into v.
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, v any) *apiError {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return newAPIError(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "request body exceeds %d bytes", s.cfg.MaxBodyBytes)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			w.Header().Set("Connection", "close")
			return newAPIError(http.StatusRequestTimeout, "invalid_request_error", "request_timeout", "request body not received within %v", s.cfg.Timeout)
		}
		return badRequest("", "reading the request body: %v", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return badRequest("", "request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	serveJob(s, w, r, &req, s.completionJob, s.completionResponse)
}

// serveJob answers one generation request: parse builds the job from the
// body decoded into req, respond shapes the outputs; errors become the
// API's JSON errors and the run is bounded by the server's timeout.
func serveJob[R any, O any](s *Server, w http.ResponseWriter, r *http.Request, req *R,
	parse func(http.ResponseWriter, *http.Request, *R) (*job, *apiError), respond func(*job, []choiceOut) O) {
	j, e := parse(w, r, req)
	if e != nil {
		writeError(w, e)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.Timeout)
	defer cancel()
	outs, e := s.run(ctx, j)
	if e != nil {
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, respond(j, outs))
}

func (s *Server) completionJob(w http.ResponseWriter, r *http.Request, req *completionRequest) (*job, *apiError) {
	if e := s.decodeBody(w, r, req); e != nil {
		return nil, e
	}
	j := &job{}
	if e := s.parseSampling(&req.sampling, j); e != nil {
		return nil, e
	}
	prompts, e := s.parsePrompt(req.Prompt)
	if e == nil {
		e = s.checkPrompts(prompts, "prompt")
	}
	if e != nil {
		return nil, e
	}
	if len(prompts)*j.n > s.cfg.MaxN {
		return nil, badRequest("n", "%d prompts times n = %d exceeds %d sequences per request", len(prompts), j.n, s.cfg.MaxN)
	}
	j.prompts = prompts
	if req.Logprobs != nil {
		if *req.Logprobs < 0 || *req.Logprobs > 20 {
			return nil, badRequest("logprobs", "logprobs %d not in 0..20", *req.Logprobs)
		}
		j.logprobs = true
	}
	return j, nil
}

func (s *Server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	serveJob(s, w, r, &req, s.chatJob, s.chatResponse)
}

func (s *Server) chatJob(w http.ResponseWriter, r *http.Request, req *chatRequest) (*job, *apiError) {
	if e := s.decodeBody(w, r, req); e != nil {
		return nil, e
	}
	if req.MaxCompletionTokens != nil {
		req.MaxTokens = req.MaxCompletionTokens
	}
	j := &job{}
	if e := s.parseSampling(&req.sampling, j); e != nil {
		return nil, e
	}
	msgs, e := parseMessages(req.Messages)
	if e != nil {
		return nil, e
	}
	if t := req.TopLogprobs; t != nil && (*t < 0 || *t > 20) {
		return nil, badRequest("top_logprobs", "top_logprobs %d not in 0..20", *t)
	}
	text, err := s.cfg.RenderChat(msgs)
	if err != nil {
		return nil, badRequest("messages", "%v", err)
	}
	j.prompts = [][]int32{s.codec.Encode(text)}
	if e := s.checkPrompts(j.prompts, "messages"); e != nil {
		return nil, e
	}
	j.logprobs = req.Logprobs != nil && *req.Logprobs
	return j, nil
}
