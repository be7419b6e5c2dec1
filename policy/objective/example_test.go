package objective_test

import (
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/policy/objective"
)

func ExampleGroupAdvantages() {
	rewards := []float64{1, 0, 0, 1, 0.2, 0.5, 0.9}
	groups := []int{0, 0, 0, 0, 1, 1, 1}
	var a objective.Advantages
	if err := objective.GroupAdvantages(&a, rewards, groups, objective.AdvantageConfig{}); err != nil {
		panic(err)
	}
	for _, v := range a.Adv {
		fmt.Printf("%.4f ", v)
	}
	fmt.Println()
	// Output: 0.8660 -0.8660 -0.8660 0.8660 -0.9492 -0.0949 1.0441
}

func ExamplePolicyLoss() {
	cfg, _ := objective.Preset(objective.PresetDAPO)
	in := &objective.LossInput{
		Logp:    [][]float64{{math.Log(1.5), -1.0}, {math.Log(4.0)}},
		OldLogp: [][]float64{{0, -1.0}, {0}},
		Mask:    [][]float64{{1, 1}, {1}},
		Adv:     []float64{1, -1},
	}
	res, err := objective.PolicyLoss(nil, in, cfg.Loss)
	if err != nil {
		panic(err)
	}
	// Token losses −1.28 (clipped high), −1 and 3 (dual clip): token-mean 0.24.
	fmt.Printf("loss %.4f dual-clip fraction %.3f\n", res.Loss, res.Metrics.ClipFracDual)
	fmt.Printf("dL/dlogp %.4f %.4f %.4f\n", res.DLogp[0][0], res.DLogp[0][1], res.DLogp[1][0])
	// Output:
	// loss 0.2400 dual-clip fraction 0.333
	// dL/dlogp 0.0000 -0.3333 0.0000
}

func ExampleDPOLoss() {
	rewards := []float64{0.0, 1.0, 0.5}
	pairs := objective.GroupPairs(nil, rewards, []int{0, 0, 0})
	in := &objective.DPOInput{
		Logp:   [][]float64{{-2, -1}, {-1, -0.5}, {-1, -1}},
		Mask:   [][]float64{{1, 1}, {1, 1}, {1, 1}},
		RefSeq: []float64{-3, -1.5, -2},
		Pairs:  pairs,
	}
	loss, _, m, _ := objective.DPOLoss(nil, in, objective.DefaultDPOBeta)
	fmt.Printf("pairs %v loss %.6f margin %.2f\n", pairs, loss, m.Margin)
	// Output: pairs [{1 0}] loss 0.693147 margin 0.00
}

func ExampleAlphaEstimator() {
	cfg := objective.DefaultBVPOConfig()
	cfg.Auto = true
	est := objective.NewAlphaEstimator(cfg)
	// Four micro-batch gradients per mode (here 1 parameter): the trace
	// gradient is 4× noisier than the empty-trace one, with equal means.
	gt := [][]float64{{3}, {1}, {3}, {1}}
	ge := [][]float64{{2.5}, {1.5}, {1.5}, {2.5}}
	if _, err := est.Update(gt, ge); err != nil {
		panic(err)
	}
	alpha := est.Alpha()
	fmt.Printf("alpha %.2f loss %.2f\n", alpha, objective.MixLoss(alpha, 1.0, 2.0))
	// Output: alpha 0.20 loss 1.80
}

func ExampleELBOConfig_Plan() {
	cfg := objective.DefaultELBOConfig() // sdmc, gauss-2, one draw, k ≥ 1
	const l = 10
	plan, _ := cfg.Plan(nil, l, 42, 7)
	sums := make([]float64, len(plan))
	for e, ev := range plan {
		masked := cfg.Mask(nil, nil, l, 42, 7, ev)
		// A model would score the masked tokens here; use log p = −0.5.
		sums[e] = -0.5 * float64(len(masked))
		fmt.Printf("t=%.4f k=%d coef=%.4f\n", ev.T, ev.K, ev.Coef)
	}
	fmt.Printf("ELBO %.6f\n", objective.CombineELBO(plan, sums))
	// Output:
	// t=0.2113 k=2 coef=2.3660
	// t=0.7887 k=7 coef=0.6340
	// ELBO -4.584936
}

func ExampleGDPOLoss() {
	in := &objective.GDPOInput{ELBO: []float64{-40}, OldELBO: []float64{-42}, Len: []int{20}, Adv: []float64{1}}
	res, _ := objective.GDPOLoss(nil, in, objective.GDPOConfig{})
	fmt.Printf("loss %.6f dLoss/dELBO %.6f\n", res.Loss, res.DELBO[0])
	// Output: loss -1.105171 dLoss/dELBO -0.055259
}

func ExampleMiniBatches() {
	for _, mb := range objective.MiniBatches(8, 4, 2, true, 1, 0) {
		fmt.Println(len(mb))
	}
	// Output:
	// 4
	// 4
}
