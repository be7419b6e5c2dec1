package optim_test

import (
	"fmt"

	"github.com/rlpipe/rlpipe/policy/optim"
)

// Example minimises (w-3)² with warmup, cosine decay, clipping and AdamW.
func Example() {
	w := []float32{0}
	g := []float32{0}
	params := []optim.Param{{Name: "w", Value: w, Grad: g, NoDecay: true}}
	opt, _ := optim.NewAdamW(optim.AdamWConfig{LR: 0.1})
	sched, _ := optim.NewSchedule(optim.ScheduleConfig{Kind: optim.ScheduleCosine, WarmupSteps: 10, TotalSteps: 300}, opt.Config().LR)
	for step := range 300 {
		g[0] = 2 * (w[0] - 3)
		optim.ClipGradNorm(params, 1)
		opt.Step(params, sched.LR(step))
	}
	fmt.Printf("w = %.2f after %d steps\n", w[0], opt.Steps())
	// Output: w = 3.00 after 300 steps
}
