package flight

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/rollout"
)

func TestRequestHeaderRoundTripsEveryField(t *testing.T) {
	req := rollout.Request{G: 4, Modes: []uint8{data.ModeEmpty, data.ModeTrace}, Seed: math.MaxUint64 - 12345, Step: 77, Round: 2, PolicyVersion: 9,
		Params: data.GenParams{Temperature: 0.7000000000000001, TopP: 0.9, TopK: 5, MaxNewTokens: 33, StopTokens: []int32{3, 4}, Greedy: true}}
	tmpl := data.Template{Kind: data.TemplateChat, System: "sys"}
	diff := &policy.DiffusionGenConfig{Steps: 3, BlockLen: 2, Remask: policy.RemaskRandom}
	b, err := json.Marshal(rolloutHeader(req, tmpl, diff))
	if err != nil {
		t.Fatal(err)
	}
	h, err := ParseRequestHeader(b)
	if err != nil {
		t.Fatal(err)
	}
	got, gotTmpl, err := h.request()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, req) || gotTmpl != tmpl || *h.Diffusion != *diff {
		t.Fatalf("round trip:\n got %+v %+v %+v\nwant %+v %+v %+v", got, gotTmpl, h.Diffusion, req, tmpl, diff)
	}
}

func TestParseRequestHeaderRejectsBadCommands(t *testing.T) {
	cases := []struct{ name, cmd string }{
		{"an unknown field is refused", `{"role":"rollout","temprature":1}`},
		{"an unknown role is refused", `{"role":"judge"}`},
		{"trailing data is refused", `{"role":"reward"} {}`},
		{"a non-object is refused", `[1]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseRequestHeader([]byte(tc.cmd)); !errors.Is(err, ErrProtocol) {
				t.Fatalf("got %v, want ErrProtocol", err)
			}
		})
	}
}

func TestSetWeightsFraming(t *testing.T) {
	cases := []struct {
		name    string
		version int64
		body    []byte
	}{
		{"a positive version and bytes", 42, []byte("safetensors")},
		{"a negative version and no bytes", -3, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, b, err := DecodeSetWeights(EncodeSetWeights(tc.version, tc.body))
			if err != nil || v != tc.version || !bytes.Equal(b, tc.body) {
				t.Fatalf("got %d %q %v", v, b, err)
			}
		})
	}
	if _, _, err := DecodeSetWeights([]byte{1, 2, 3}); !errors.Is(err, ErrProtocol) {
		t.Fatalf("short body: %v", err)
	}
}

func FuzzParseRequestHeader(f *testing.F) {
	f.Add([]byte(`{"role":"rollout","g":2,"modes":[0,1],"policy_version":3,"weights":3,"params":{"temperature":1,"top_p":1,"top_k":0,"max_new_tokens":8}}`))
	f.Add([]byte(`{"role":"reward","policy_version":0,"weights":0,"params":{"temperature":0,"top_p":0,"top_k":0,"max_new_tokens":0}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseRequestHeader(b)
		if err != nil {
			return
		}
		if h.Role != RoleRollout && h.Role != RoleReward {
			t.Fatalf("accepted role %q", h.Role)
		}
		if req, _, err := h.request(); err == nil {
			if err := req.Validate(); err != nil {
				t.Fatalf("request() accepted an invalid request: %v", err)
			}
		}
	})
}
