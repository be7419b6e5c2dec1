package rollouttest

import (
	"context"
	"reflect"
	"testing"

	"github.com/rlpipe/rlpipe/data"
)

func TestHashModel(t *testing.T) {
	prompt := ByteCodec{}.Encode("q" + data.EmptyTrace)
	one := func(p data.GenParams, sample int32, tokens []int32) data.GenResult {
		res, err := HashModel{}.Generate(context.Background(), 1, []data.GenRequest{{PromptID: 4, SampleIdx: sample, PromptTokens: tokens}}, p)
		if err != nil {
			t.Fatal(err)
		}
		return res[0]
	}
	t.Run("an empty-trace prompt is answered directly", func(t *testing.T) {
		got := (ByteCodec{}).Decode(one(data.GenParams{}, 0, prompt).Tokens)
		if got[:len(data.AnswerOpen)] != data.AnswerOpen {
			t.Fatalf("completion %q", got)
		}
	})
	t.Run("greedy decoding ignores the sample index", func(t *testing.T) {
		a, b := one(data.GenParams{Greedy: true}, 0, nil), one(data.GenParams{Greedy: true}, 1, nil)
		if !reflect.DeepEqual(a, b) {
			t.Fatal("greedy samples differ")
		}
	})
	t.Run("a stop token ends the completion and is kept", func(t *testing.T) {
		r := one(data.GenParams{StopTokens: []int32{'>'}}, 0, nil)
		if got := (ByteCodec{}).Decode(r.Tokens); got != data.ThinkOpen || r.FinishReason != data.FinishStop {
			t.Fatalf("got %q (%s), want %q", got, r.FinishReason, data.ThinkOpen)
		}
	})
	t.Run("a cancelled context is an error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := (HashModel{}).Generate(ctx, 1, nil, data.GenParams{}); err == nil {
			t.Fatal("no error")
		}
	})
}
