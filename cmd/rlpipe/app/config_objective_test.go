package app

import (
	"math"
	"testing"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// An explicit 0 for a clip bound is a value, not "unset": ε_high = 0 clips
// the ratio at exactly 1 + 0, whichever preset set another default. Hand
// values: one token with ρ = 1.5 (A = +1) or ρ = 0.5 (A = −1), so the loss
// is −A·clip(ρ, 1−ε_low, 1+ε_high); GDPO's length-normalised ratio of
// ELBO −40 over −42 on 20 tokens is e^0.1 (ALGORITHMS §3.5).
func TestConfigZeroClipBoundsAreTakenLiterally(t *testing.T) {
	for _, tc := range []struct {
		name     string
		sets     []string
		adv, rho float64
		want     float64
	}{
		{"the default ε_high is 0.28", nil, 1, 1.5, -1.28},
		{"clip_high 0 clips at 1", []string{"algorithm.loss.clip_high=0"}, 1, 1.5, -1},
		{"clip_high 0 beats the dapo preset's 0.28", []string{"algorithm.name=dapo", "algorithm.loss.clip_high=0"}, 1, 1.5, -1},
		{"clip_low 0 clips at 1", []string{"algorithm.loss.clip_low=0"}, -1, 0.5, 1},
		{"null restores the default", []string{"algorithm.loss.clip_high=null"}, 1, 1.5, -1.28},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := (&configFlags{sets: tc.sets}).load()
			if err != nil {
				t.Fatal(err)
			}
			in := &objective.LossInput{Logp: [][]float64{{math.Log(tc.rho)}}, OldLogp: [][]float64{{0}},
				Mask: [][]float64{{1}}, Adv: []float64{tc.adv}}
			res, err := objective.PolicyLoss(nil, in, cfg.Algorithm.Loss)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Loss-tc.want) > 1e-12 {
				t.Errorf("loss = %v, want %v", res.Loss, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		set  string
		want float64
	}{
		{"gdpo's default ε is 0.2", "algorithm.gdpo.clip_high=0.2", -math.Exp(0.1)},
		{"gdpo clip_high 0 clips at 1", "algorithm.gdpo.clip_high=0", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := (&configFlags{sets: []string{"policy.kind=diffusion", "algorithm.name=gdpo", tc.set}}).load()
			if err != nil {
				t.Fatal(err)
			}
			in := &objective.GDPOInput{ELBO: []float64{-40}, OldELBO: []float64{-42}, Len: []int{20}, Adv: []float64{1}}
			res, err := objective.GDPOLoss(nil, in, cfg.Algorithm.GDPO)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(res.Loss-tc.want) > 1e-12 {
				t.Errorf("loss = %v, want %v", res.Loss, tc.want)
			}
		})
	}
}
