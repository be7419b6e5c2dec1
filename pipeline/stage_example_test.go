package pipeline_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rlpipe/rlpipe/pipeline"
)

// A three-stage graph: a source, an ordered pool of 4 workers, and a sink.
// The output order is the input order whatever the worker count.
func ExampleGraph() {
	g := pipeline.NewGraph(pipeline.WithCapacity(2))
	words := pipeline.AddSource(g, "words", pipeline.FromSlice([]string{"a", "bb", "ccc", "dddd"}))
	upper := pipeline.AddStage(g, "upper", words, pipeline.Ordered(
		func(_ context.Context, w string) (string, error) { return strings.ToUpper(w), nil },
		pipeline.PoolConfig{Workers: 4},
	))
	var got []string
	pipeline.AddSink(g, "collect", upper, pipeline.Collect(&got))
	if err := g.Run(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(got)
	for _, s := range g.Stats() {
		fmt.Printf("%s: in=%d out=%d\n", s.Name, s.In, s.Out)
	}
	// Output:
	// [A BB CCC DDDD]
	// words: in=0 out=4
	// upper: in=4 out=4
	// collect: in=4 out=0
}
