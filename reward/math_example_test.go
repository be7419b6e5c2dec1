package reward_test

import (
	"fmt"

	"github.com/rlpipe/rlpipe/reward"
)

func ExampleExplainMath() {
	e := reward.ExplainMath(`The roots are $x = \boxed{2}$ or $x = \boxed{-3}$.`, `\{-3, 2\}`)
	fmt.Println(e.Equal, e.PredRule, e.PredParts, e.Rule)

	e = reward.ExplainMath("Final Answer: The final answer is $0.3333$. I hope it is correct.", `\frac13`)
	fmt.Println(e.Equal, e.PredRule, e.Rule, e.Failure)

	o := reward.DefaultMathOptions()
	o.Precision = 4
	fmt.Println(reward.ExplainMath("The answer is 0.3333", `\frac13`, o).Equal)
	// Output:
	// true boxed [2 -3] set
	// false final_answer numeric_rounded mismatch
	// true
}
