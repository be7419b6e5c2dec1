package policy_test

import (
	"context"
	"fmt"
	"math"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// One GDPO step of a diffusion policy: sample, score the rollouts under
// the behaviour (old) weights, then back-propagate the GDPO loss through
// the current ELBOs computed with the same masks.
func ExampleDiffusionModel_AccumulateELBO() {
	m, err := policy.NewDiffusionModel(policy.Config{Layers: 1, DModel: 16, Heads: 2, Context: 32, InitSeed: 1})
	if err != nil {
		panic(err)
	}
	if err := m.SetGenConfig(policy.DiffusionGenConfig{Steps: 4, BlockLen: 8}); err != nil {
		panic(err)
	}
	reqs := []data.GenRequest{
		{PromptID: 7, SampleIdx: 0, PromptTokens: []int32{1, 'a' + 8}},
		{PromptID: 7, SampleIdx: 1, PromptTokens: []int32{1, 'a' + 8}},
	}
	res, err := m.Generate(context.Background(), 1, reqs, data.GenParams{MaxNewTokens: 8})
	if err != nil {
		panic(err)
	}
	var b policy.SeqBatch
	keys := make([]uint64, len(res))
	lens := make([]int, len(res))
	for i, r := range res {
		b.Prompts = append(b.Prompts, reqs[i].PromptTokens)
		b.Completions = append(b.Completions, r.Tokens)
		keys[i] = policy.RolloutKey(reqs[i].PromptID, reqs[i].SampleIdx, 0)
		lens[i] = len(r.Tokens)
	}
	cfg := objective.GDPOConfig{ELBO: objective.DefaultELBOConfig()}
	const stepSeed = 42
	old, err := m.ELBO(b, cfg.ELBO, stepSeed, keys) // before any update: old = current
	if err != nil {
		panic(err)
	}
	loss, err := m.AccumulateELBO(b, cfg.ELBO, stepSeed, keys, func(elbo []float64) (float64, []float64, error) {
		r, err := objective.GDPOLoss(nil, &objective.GDPOInput{ELBO: elbo, OldELBO: old, Len: lens, Adv: []float64{1, -1}}, cfg)
		return r.Loss, r.DELBO, err
	})
	if err != nil {
		panic(err)
	}
	fmt.Printf("passes per sequence: %d\n", policy.ELBOPasses(cfg.ELBO, lens[0]))
	// At ratio 1 the advantages +1 and −1 cancel, up to float32 rounding (whose
	// sign depends on the BLAS build).
	fmt.Printf("loss at ratio 1 is 0: %v\n", math.Abs(loss) < 1e-4)
	// Output:
	// passes per sequence: 2
	// loss at ratio 1 is 0: true
}
