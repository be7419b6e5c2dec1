package sampling_test

import (
	"fmt"

	"github.com/rlpipe/rlpipe/sampling"
)

// The pipeline's use of a sampler and the DAPO filter for one step.
func Example() {
	cfg := sampling.DefaultConfig()
	cfg.Seed = 1
	cfg.Filter.ZeroVariance = true
	s, err := sampling.New(cfg, []uint64{101, 102, 103, 104})
	if err != nil {
		panic(err)
	}
	filter := sampling.NewGroupFilter(cfg.Filter)
	const step = 0
	r := filter.Begin(2)
	for n := r.Need(); n > 0; n = r.Need() {
		picks, _ := s.Next(step, n)
		groups := make([]sampling.GroupOutcome, len(picks))
		for i, p := range picks {
			// Stand-in for rollout + reward: prompt 101 is always solved.
			id := []uint64{101, 102, 103, 104}[p]
			groups[i] = sampling.GroupOutcome{PromptID: id, Correct: []bool{id == 101, id != 103}}
		}
		if err := s.Observe(step, groups); err != nil {
			panic(err)
		}
		r.Add(groups)
	}
	res := r.Result()
	fmt.Println("kept", res.Kept, "of", res.Target, "short", res.Short)
	fmt.Println("prompts with statistics:", s.Stats().PromptsWithStats > 0)
	// Output:
	// kept 2 of 2 short false
	// prompts with statistics: true
}
