package rollout_test

import (
	"context"
	"fmt"
	"net"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/rollout"
	"github.com/rlpipe/rlpipe/rollout/openaiserver"
	"github.com/rlpipe/rlpipe/rollout/rollouttest"
)

// ExampleNewOpenAI serves a model with openaiserver on a loopback port and
// rolls out two prompts in both modes through the chat API.
func ExampleNewOpenAI() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := openaiserver.New(openaiserver.Config{}, rollouttest.HashModel{}, rollouttest.ByteCodec{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ctx, ln)

	gen, err := rollout.NewOpenAI(rollout.OpenAIConfig{
		BaseURL: "http://" + ln.Addr().String() + "/v1", API: rollout.APIChat, ReturnTokenIDs: true,
	}, nil)
	if err != nil {
		panic(err)
	}
	defer gen.Close()
	req := rollout.Request{Prompts: rollouttest.Prompts(2), G: 2, Modes: []uint8{data.ModeTrace, data.ModeEmpty}, Seed: 1}
	rows, stats, err := gen.GenerateStats(ctx, req)
	if err != nil {
		panic(err)
	}
	fmt.Printf("%d of %d rows, %d dropped\n", len(rows), req.Rows(), stats.Dropped)
	fmt.Println(rows[2].Mode == data.ModeEmpty, len(rows[2].Logprobs) == len(rows[2].CompletionTokens))
	// Output:
	// 8 of 8 rows, 0 dropped
	// true true
}
