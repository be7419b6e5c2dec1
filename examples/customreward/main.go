// Command customreward is rlpipe with one extra reward written in Go.
//
// A user's program registers rewards with reward.Register and then hands
// control to the rlpipe CLI, so that specs and configs can name them:
//
//	go run ./examples/customreward score --reward '0.8*math+0.2*brevity' < rows.jsonl
//	go run ./examples/customreward run --set reward.spec='0.9*math+0.1*brevity'
package main

import (
	"context"
	"os"
	"strings"

	"github.com/rlpipe/rlpipe/cmd/rlpipe/app"
	"github.com/rlpipe/rlpipe/reward"
)

func init() {
	// brevity rewards short completions: 1 for empty, 0.5 at 200 words.
	reward.Register("brevity", reward.Static(reward.RowFunc(func(_ context.Context, r reward.Row) (float64, error) {
		words := len(strings.Fields(r.Completion))
		return 200 / (200 + float64(words)), nil
	})))
}

func main() {
	os.Exit(app.Main(os.Args[1:]))
}
