package stage_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/rlpipe/rlpipe/pipeline/stage"
)

// A two-stage graph fed from outside: an inlet channel, a stage that
// upper-cases words, and a sink collecting them in order.
func ExampleGraph() {
	g := stage.NewGraph(stage.WithCapacity(2))
	feed := make(chan string, 4)
	for _, w := range []string{"a", "bb", "ccc", "dddd"} {
		feed <- w
	}
	close(feed)
	upper := stage.AddStage(g, "upper", stage.Inlet(g, "words", feed), func(ctx context.Context, in <-chan string, out chan<- string) error {
		defer close(out)
		for {
			w, ok, err := stage.Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			if err := stage.Send(ctx, out, strings.ToUpper(w)); err != nil {
				return err
			}
		}
	})
	var got []string
	stage.AddSink(g, "collect", upper, func(ctx context.Context, in <-chan string) error {
		for {
			w, ok, err := stage.Recv(ctx, in)
			if err != nil || !ok {
				return err
			}
			got = append(got, w)
		}
	})
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
	// upper: in=4 out=4
	// collect: in=4 out=0
}
