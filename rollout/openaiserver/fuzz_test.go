package openaiserver_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

type httptestRecorder = httptest.ResponseRecorder

func newRecorder() *httptestRecorder { return httptest.NewRecorder() }

// FuzzRequestDecoding feeds arbitrary bodies to both generation endpoints:
// the server must never panic, never answer 5xx, and always answer JSON.
func FuzzRequestDecoding(f *testing.F) {
	seeds := []string{
		`{"model":"rlpipe","prompt":"q","n":2,"logprobs":1,"stop":["<"],"seed":-3}`,
		`{"model":"rlpipe","prompt":[[1,2],[3]],"max_tokens":4,"temperature":0}`,
		`{"model":"rlpipe","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"logprobs":true}`,
		`{"model":"rlpipe","messages":[{"role":"user","content":null}],"stream":true}`,
		`{"model":"rlpipe","prompt":"q","seed":18446744073709551615,"top_k":-1,"top_p":0.5}`,
		`[1,2,3]`, `null`, `{"prompt":{}}`, "\x00\xff", `{"model":"rlpipe","prompt":"q","stop":""}`,
	}
	for _, s := range seeds {
		f.Add(s)
	}
	s := openaiserver.New(openaiserver.Config{MaxN: 8, MaxTokens: 32, MaxBodyBytes: 1 << 14}, rollouttest.HashModel{}, rollouttest.ByteCodec{})
	f.Fuzz(func(t *testing.T, body string) {
		for _, path := range []string{"/v1/completions", "/v1/chat/completions"} {
			rec := recorder(s, "POST", path, body)
			if rec.Code >= 500 || !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("%s %q: status %d body %q", path, body, rec.Code, rec.Body.String())
			}
			if rec.Code != 200 {
				var e struct {
					Error *struct{ Message, Type string }
				}
				if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == nil || e.Error.Message == "" {
					t.Fatalf("%s %q: status %d without an OpenAI error body: %s", path, body, rec.Code, rec.Body)
				}
			}
		}
	})
}
