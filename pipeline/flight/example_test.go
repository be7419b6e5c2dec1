package flight_test

import (
	"context"
	"fmt"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/pipeline/flight"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/rollout"
)

// A rollout worker on a loopback port and a pool that pushes a policy to it
// and generates.
func ExampleRolloutPool() {
	srv, _ := flight.NewRolloutServer(flight.RolloutServerConfig{})
	worker, err := flight.Listen("127.0.0.1:0", srv)
	if err != nil {
		fmt.Println(err)
		return
	}
	go worker.Serve()
	defer worker.Stop()

	pool, _ := flight.NewRolloutPool([]string{worker.Addr()})
	defer pool.Close()
	m, _ := policy.NewModel(policy.Config{Layers: 1, DModel: 16, Heads: 2, DFF: 32, Context: 64, Causal: true, InitSeed: 1})
	gen := pool.Generator(7, flight.WeightsFunc(m, nil))
	req := rollout.Request{
		Prompts:       []data.Prompt{{ID: 1, Dataset: "demo", Prompt: "1+1=", Answer: "2", Meta: "{}"}},
		G:             4,
		Seed:          1,
		PolicyVersion: 7,
		Params:        data.GenParams{Temperature: 1, TopP: 1, MaxNewTokens: 6},
	}
	rows, err := gen.Generate(context.Background(), req)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(len(rows), "rows of version", rows[0].PolicyVersion, "- workers dead:", len(pool.Stats().Dead))
	// Output: 4 rows of version 7 - workers dead: 0
}
