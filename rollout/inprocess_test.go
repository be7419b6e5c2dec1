package rollout

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/rng"
)

// hashModel answers each request with tokens drawn from its own
// (seed, prompt_id, sample_idx) stream, like a real policy must.
type hashModel struct{ calls int }

func (m *hashModel) Generate(_ context.Context, seed uint64, reqs []data.GenRequest, p data.GenParams) ([]data.GenResult, error) {
	m.calls++
	out := make([]data.GenResult, len(reqs))
	for i, r := range reqs {
		s := rng.SplitMix64(seed ^ rng.SplitMix64(r.PromptID) ^ rng.SplitMix64(uint64(r.SampleIdx)))
		n := 1 + int(s%4)
		res := data.GenResult{FinishReason: data.FinishStop}
		for j := 0; j < n; j++ {
			s = rng.SplitMix64(s)
			res.Tokens = append(res.Tokens, int32('a'+s%26))
			res.Logprobs = append(res.Logprobs, -float32(s%100)/100)
		}
		out[i] = res
	}
	return out, nil
}

type byteCodec struct{}

func (byteCodec) Encode(s string) []int32 {
	out := make([]int32, len(s))
	for i := range s {
		out[i] = int32(s[i])
	}
	return out
}

func (byteCodec) Decode(ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteByte(byte(id))
	}
	return b.String()
}

type suffixRenderer struct{}

func (suffixRenderer) Render(p data.Prompt, mode uint8) (string, error) {
	if mode == data.ModeEmpty {
		return p.Prompt + "|empty", nil
	}
	return p.Prompt, nil
}

func prompts(n int) []data.Prompt {
	out := make([]data.Prompt, n)
	for i := range out {
		out[i] = data.Prompt{ID: uint64(1000 + i), Dataset: "t", Prompt: fmt.Sprintf("%d+%d=", i, i), Answer: fmt.Sprint(2 * i), Meta: "{}"}
	}
	return out
}

func TestInProcessOrdersRowsByPromptModeSample(t *testing.T) {
	g := &InProcess{Model: &hashModel{}, Codec: byteCodec{}, Renderer: suffixRenderer{}}
	req := Request{Prompts: prompts(3), G: 2, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 1, Step: 4, PolicyVersion: 9}
	rows, err := g.Generate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != req.Rows() || len(rows) != 12 {
		t.Fatalf("got %d rows, want 12", len(rows))
	}
	i := 0
	for p := 0; p < 3; p++ {
		for _, mode := range []uint8{data.ModeTrace, data.ModeEmpty} {
			for s := int32(0); s < 2; s++ {
				r := rows[i]
				if r.PromptID != uint64(1000+p) || r.Mode != mode || r.SampleIdx != s || r.PolicyVersion != 9 {
					t.Fatalf("row %d = (prompt %d, mode %d, sample %d, version %d)", i, r.PromptID, r.Mode, r.SampleIdx, r.PolicyVersion)
				}
				if mode == data.ModeEmpty != strings.HasSuffix((byteCodec{}).Decode(r.PromptTokens), "|empty") {
					t.Fatalf("row %d: prompt tokens not rendered for mode %d", i, mode)
				}
				if r.Completion != (byteCodec{}).Decode(r.CompletionTokens) || len(r.Logprobs) != len(r.CompletionTokens) {
					t.Fatalf("row %d: completion text/logprobs do not match tokens", i)
				}
				i++
			}
		}
	}
}

func TestInProcessIsIndependentOfBatching(t *testing.T) {
	req := Request{Prompts: prompts(5), G: 3, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 7, Step: 2}
	var want []data.Rollout
	for _, maxBatch := range []int{0, 1, 2, 7, 100} {
		t.Run(fmt.Sprintf("max batch %d", maxBatch), func(t *testing.T) {
			g := &InProcess{Model: &hashModel{}, Codec: byteCodec{}, Renderer: suffixRenderer{}, MaxBatch: maxBatch}
			rows, err := g.Generate(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = rows
				return
			}
			if !reflect.DeepEqual(rows, want) {
				t.Fatal("rows differ from the unbatched run")
			}
		})
	}
}

func TestStepSeedSeparatesStepsRoundsAndModes(t *testing.T) {
	seen := map[uint64]string{}
	for step := int64(0); step < 50; step++ {
		for round := 0; round < 3; round++ {
			for _, mode := range []uint8{0, 1} {
				s := StepSeed(3, step, round, mode)
				key := fmt.Sprintf("step %d round %d mode %d", step, round, mode)
				if prev, ok := seen[s]; ok {
					t.Fatalf("%s and %s share seed %d", prev, key, s)
				}
				seen[s] = key
			}
		}
	}
}

func TestRequestValidate(t *testing.T) {
	cases := []struct {
		name string
		req  Request
		ok   bool
	}{
		{"a plain request is valid", Request{G: 1}, true},
		{"zero samples is refused", Request{G: 0}, false},
		{"an unknown mode is refused", Request{G: 1, Modes: []uint8{2}}, false},
		{"a negative temperature is refused", Request{G: 1, Params: data.GenParams{Temperature: -1}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.req.Validate(); (err == nil) != tc.ok {
				t.Fatalf("Validate() = %v, want ok=%v", err, tc.ok)
			}
		})
	}
}
