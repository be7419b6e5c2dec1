package reward_test

import (
	"context"
	"fmt"

	"github.com/rlpipe/rlpipe/reward"
)

func ExampleMathEqual() {
	fmt.Println(reward.MathEqual(`\frac{\sqrt{3}}{2}`, `\frac{\sqrt3}2`))
	fmt.Println(reward.MathEqual(`x^2+2x+1`, `(x+1)^2`))
	fmt.Println(reward.MathEqual(`[0,1)`, `[0,1]`))
	// Output:
	// true
	// true
	// false
}

func ExampleScorer() {
	s, err := reward.NewScorer(reward.Config{Spec: "0.9*math+0.1*format"})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	rows := []reward.Row{{Completion: `<think>1+1=2</think><answer>\boxed{2}</answer>`, Answer: "2"}}
	out := make([]reward.Result, len(rows))
	counts, err := s.ScoreGroups(context.Background(), rows, nil, out)
	fmt.Printf("%.1f %v %v %v\n", out[0].Reward, out[0].Parts, counts, err)
	// Output: 1.0 map[format:1 math:1] rows=1 errors=0 <nil>
}
