package pipeline

import (
	"errors"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/config"
	"github.com/rlpipe/rlpipe/policy/objective"
)

// TestLoadRunConfigPresetsThenExplicitFields: a preset named in a document
// or an override sets its sections, and a field the user gives explicitly
// wins over the preset whichever document holds it.
func TestLoadRunConfigPresetsThenExplicitFields(t *testing.T) {
	grpo, err := objective.Preset("grpo")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		docs      []string
		sets      []string
		wantAgg   objective.AggMode
		wantHigh  float64
		wantSteps int
	}{
		{"defaults", nil, nil, DefaultRunConfig().Algorithm.Loss.Agg, *DefaultRunConfig().Algorithm.Loss.ClipHigh, DefaultRunConfig().SFT.Steps},
		{"preset from a file", []string{"algorithm:\n  name: grpo\n"}, nil, grpo.Loss.Agg, *grpo.Loss.ClipHigh, DefaultRunConfig().SFT.Steps},
		{"preset from --set, field from an earlier file", []string{"algorithm:\n  loss:\n    clip_high: 0.5\n"}, []string{"algorithm.name=grpo"},
			grpo.Loss.Agg, 0.5, DefaultRunConfig().SFT.Steps},
		{"diffusion kind sets its SFT length unless given", nil, []string{"policy.kind=diffusion", "algorithm.name=gdpo"},
			DefaultRunConfig().Algorithm.Loss.Agg, *DefaultRunConfig().Algorithm.Loss.ClipHigh, DiffusionSFTSteps},
		{"explicit sft.steps beats the diffusion preset", []string{"sft:\n  steps: 7\n"}, []string{"policy.kind=diffusion", "algorithm.name=gdpo"},
			DefaultRunConfig().Algorithm.Loss.Agg, *DefaultRunConfig().Algorithm.Loss.ClipHigh, 7},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var docs []config.Doc
			for i, d := range tc.docs {
				docs = append(docs, config.Doc{Name: string(rune('a'+i)) + ".yaml", Data: []byte(d)})
			}
			cfg, err := LoadRunConfig(docs, tc.sets)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Algorithm.Loss.Agg != tc.wantAgg || *cfg.Algorithm.Loss.ClipHigh != tc.wantHigh || cfg.SFT.Steps != tc.wantSteps {
				t.Errorf("agg %q clip_high %v sft.steps %d; want %q %v %d", cfg.Algorithm.Loss.Agg, *cfg.Algorithm.Loss.ClipHigh,
					cfg.SFT.Steps, tc.wantAgg, tc.wantHigh, tc.wantSteps)
			}
		})
	}
	if _, err := LoadRunConfig(nil, []string{"algorithm.name=nope"}); !errors.Is(err, ErrConfig) {
		t.Errorf("unknown algorithm: %v, want ErrConfig", err)
	}
}
