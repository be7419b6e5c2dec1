package policyfile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/optim"
)

var tiny = policy.Config{Layers: 1, DModel: 8, Heads: 1, DFF: 8, Context: 32, InitSeed: 2}

// sameWeights reports whether a and b hold equal tensors.
func sameWeights(a, b policy.Trainable) bool {
	return slices.EqualFunc(a.Params(), b.Params(), func(x, y optim.Param) bool { return x.Name == y.Name && slices.Equal(x.Value, y.Value) })
}

// A saved policy of either kind loads back with its kind, weights,
// tokenizer and records, from its directory or from a run directory whose
// checkpoints/latest names it.
func TestSaveLoadRoundTripsEitherKind(t *testing.T) {
	for _, kind := range []string{policy.KindAR, policy.KindDiffusion} {
		t.Run(kind, func(t *testing.T) {
			pol, err := New(kind, tiny)
			if err != nil {
				t.Fatal(err)
			}
			pol.TrainedOn = &TrainedOn{Train: "countdown", Difficulty: 2}
			if kind == policy.KindDiffusion {
				d := policy.DefaultDiffusionConfig()
				d.Canvas = 24
				pol.Diffusion = &d
			}
			run := t.TempDir()
			dir := filepath.Join(run, "checkpoints", "step-000003")
			if err := pol.Save(dir); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(run, "checkpoints", "latest"), []byte("step-000003\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			for _, from := range []string{dir, run} {
				got, err := Load(from)
				if err != nil {
					t.Fatal(err)
				}
				if got.Kind() != kind || !sameWeights(got.Model, pol.Model) {
					t.Errorf("%s: kind %s, weights equal %v", from, got.Kind(), sameWeights(got.Model, pol.Model))
				}
				gotTok, err := got.ByteTokenizer()
				if err != nil {
					t.Fatal(err)
				}
				wantTok, _ := pol.ByteTokenizer()
				if gotTok.Spec() != wantTok.Spec() || got.TrainedOn == nil || *got.TrainedOn != *pol.TrainedOn {
					t.Errorf("%s: tokenizer %q, trained on %+v", from, gotTok.Spec(), got.TrainedOn)
				}
				if got.DiffusionSettings() != pol.DiffusionSettings() {
					t.Errorf("%s: diffusion settings %+v, want %+v", from, got.DiffusionSettings(), pol.DiffusionSettings())
				}
			}
		})
	}
}

// A diffusion file without saved settings was trained on the legacy
// 32-token canvas.
func TestDiffusionSettingsDefaultToTheLegacyCanvas(t *testing.T) {
	pol, err := New(policy.KindDiffusion, tiny)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := pol.Save(dir); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Diffusion != nil || got.DiffusionSettings() != policy.LegacyDiffusionConfig() {
		t.Errorf("settings %+v (saved %v), want the legacy %+v", got.DiffusionSettings(), got.Diffusion, policy.LegacyDiffusionConfig())
	}
}

func TestLoadRefusesADirectoryWithoutAPolicy(t *testing.T) {
	if _, err := Load(t.TempDir()); !errors.Is(err, ErrFormat) {
		t.Fatalf("err = %v, want ErrFormat", err)
	}
	if _, err := New("llama", tiny); !errors.Is(err, policy.ErrConfig) {
		t.Fatalf("unknown kind: err = %v, want policy.ErrConfig", err)
	}
}
