// Command customreward shows a Go reward registered from a user's own main.
//
// A user's program registers rewards with reward.Register and then hands
// control to the rlpipe CLI, so specs and configs can name them
// (`rlpipe score --reward 0.8*math+0.2*brevity`). The CLI entry point is
// not importable yet (it lives in package main of cmd/rlpipe); until it
// is, this example scores a few rows through the reward API directly.
package main

import (
	"context"
	"fmt"
	"os"
	"strings"

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
	s, err := reward.NewScorer(reward.Config{Spec: "0.8*math+0.2*brevity"})
	if err != nil {
		fmt.Fprintln(os.Stderr, "customreward:", err)
		os.Exit(2)
	}
	defer s.Close()
	rows := []reward.Row{
		{Completion: `<think>1+1</think><answer>\boxed{2}</answer>`, Answer: "2"},
		{Completion: "I think it is 3, so the answer is 3.", Answer: "2"},
	}
	out := make([]reward.Result, len(rows))
	counts, err := s.ScoreGroups(context.Background(), rows, nil, out)
	if err != nil {
		fmt.Fprintln(os.Stderr, "customreward:", err)
		os.Exit(1)
	}
	for i, r := range out {
		fmt.Printf("row %d: reward=%.4f parts=%v\n", i, r.Reward, r.Parts)
	}
	fmt.Println(counts)
}
