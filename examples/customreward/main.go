// Command customreward scores and post-trains with one extra reward written
// in Go.
//
// A program registers rewards with reward.Register before it builds a
// reward.Scorer; from then on specs and configs name them like the
// built-ins. This one calls the libraries behind `rlpipe score` and
// `rlpipe run` (pipeline/score and pipeline) with a spec that uses its
// reward:
//
//	go run ./examples/customreward score ['0.8*math+0.2*brevity'] < rows.jsonl > scored.jsonl
//	go run ./examples/customreward run ['0.9*math+0.1*brevity'] [OUT_DIR]
//
// score reads and writes JSON lines as `rlpipe score` does; run is the
// embedded default job of `rlpipe run` with reward.spec replaced.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/rlpipe/rlpipe/pipeline"
	"github.com/rlpipe/rlpipe/pipeline/score"
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
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	switch arg(1, "") {
	case "score":
		err = score.Run(ctx, score.Options{Reward: reward.Config{Spec: arg(2, "0.8*math+0.2*brevity")}, Log: os.Stderr})
	case "run":
		out := arg(3, filepath.Join("runs", "customreward-"+time.Now().UTC().Format("20060102-150405")))
		err = train(ctx, arg(2, "0.9*math+0.1*brevity"), out)
	default:
		fmt.Fprintln(os.Stderr, "usage: customreward score [SPEC] < rows.jsonl | customreward run [SPEC] [OUT_DIR]")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "customreward:", err)
		os.Exit(1)
	}
}

// train runs the default RL job with reward spec into the run directory out
// and prints the held-out accuracy before and after.
func train(ctx context.Context, spec, out string) error {
	cfg := pipeline.DefaultRunConfig()
	cfg.Reward.Spec = spec
	if err := cfg.Validate(); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, "customreward: writing to", out)
	res, err := pipeline.Run(ctx, cfg, pipeline.RunOptions{OutDir: out, Stderr: os.Stderr})
	if err != nil {
		return err
	}
	for _, a := range res.After {
		for _, b := range res.Before {
			if a.Mode == b.Mode {
				fmt.Printf("held-out accuracy (%s): %.1f%% → %.1f%%\n", a.Mode, 100*b.Accuracy, 100*a.Accuracy)
			}
		}
	}
	return nil
}

// arg returns os.Args[i], or def when there are fewer arguments.
func arg(i int, def string) string {
	if i < len(os.Args) {
		return os.Args[i]
	}
	return def
}
