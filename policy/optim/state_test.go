package optim

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// train runs steps [from, to) of a clipped, scheduled AdamW on m.
func train(t testing.TB, o *AdamW, m *model, from, to int) {
	t.Helper()
	s, err := NewSchedule(ScheduleConfig{Kind: ScheduleCosine, WarmupSteps: 3, TotalSteps: 20, MinLRRatio: 0.1}, o.Config().LR)
	if err != nil {
		t.Fatal(err)
	}
	for step := from; step < to; step++ {
		m.grads(step)
		ClipGradNorm(m.params, 1)
		o.Step(m.params, s.LR(step))
	}
}

func TestResumeIsBitIdentical(t *testing.T) {
	cfg := AdamWConfig{LR: 0.05, Beta2: 0.95}
	for _, split := range []int{0, 1, 7, 15} {
		t.Run(fmt.Sprintf("saving after step %d and resuming", split)+" matches an uninterrupted run", func(t *testing.T) {
			start := newModel(7, 33, 2)
			whole := start.clone()
			oWhole := mustAdamW(t, cfg)
			train(t, oWhole, whole, 0, 15)

			part := start.clone()
			o1 := mustAdamW(t, cfg)
			train(t, o1, part, 0, split)
			var buf bytes.Buffer
			if err := o1.SaveCompressed(&buf); err != nil {
				t.Fatal(err)
			}
			resumed := part.clone() // the weights travel separately, via safetensors
			o2 := mustAdamW(t, cfg)
			if err := o2.LoadCompressed(&buf, resumed.params); err != nil {
				t.Fatal(err)
			}
			if o2.Steps() != int64(split) {
				t.Fatalf("Steps after Load = %d, want %d", o2.Steps(), split)
			}
			train(t, o2, resumed, split, 15)
			for p := range whole.params {
				for i, w := range whole.params[p].Value {
					if got := resumed.params[p].Value[i]; math.Float32bits(got) != math.Float32bits(w) {
						t.Fatalf("%s[%d] = %v after resume, %v uninterrupted", whole.params[p].Name, i, got, w)
					}
				}
			}
		})
	}
}

func TestLoadMatchesParamsByName(t *testing.T) {
	m, o, buf := trainedState(t)
	swapped := []Param{m.params[1], m.params[0]}
	o2 := mustAdamW(t, AdamWConfig{})
	if err := o2.Load(buf, swapped); err != nil {
		t.Fatal(err)
	}
	for i := range o2.names {
		src := 1 - i
		if o2.names[i] != o.names[src] || !bytes.Equal(f32bytes(o2.m[i]), f32bytes(o.m[src])) || !bytes.Equal(f32bytes(o2.v[i]), f32bytes(o.v[src])) {
			t.Fatalf("moments of %q were not restored under its name", o2.names[i])
		}
	}
}

// trainedState returns a two-tensor model, its AdamW after two steps and the
// optimizer state as Save writes it.
func trainedState(t testing.TB) (*model, *AdamW, *bytes.Buffer) {
	t.Helper()
	m := newModel(3, 4)
	o := mustAdamW(t, AdamWConfig{})
	train(t, o, m, 0, 2)
	var buf bytes.Buffer
	if err := o.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return m, o, &buf
}

func f32bytes(xs []float32) []byte {
	var b []byte
	for _, x := range xs {
		bits := math.Float32bits(x)
		b = append(b, byte(bits), byte(bits>>8), byte(bits>>16), byte(bits>>24))
	}
	return b
}

func TestLoadRejectsMismatchedState(t *testing.T) {
	m, o, buf := trainedState(t)
	saved := buf.Bytes()
	p := func(name string, n int) Param {
		return Param{Name: name, Value: make([]float32, n), Grad: make([]float32, n)}
	}
	tests := []struct {
		name   string
		data   []byte
		cfg    AdamWConfig
		params []Param
		want   string
	}{
		{"a model with a param fewer", saved, AdamWConfig{}, []Param{p("pa", 3)}, "holds 2 params, model has 1"},
		{"a model with an extra param", saved, AdamWConfig{}, []Param{p("pa", 3), p("pb", 4), p("pc", 1)}, "holds 2 params, model has 3"},
		{"a renamed param", saved, AdamWConfig{}, []Param{p("pa", 3), p("pz", 4)}, `"pb" is not in the model`},
		{"a resized param", saved, AdamWConfig{}, []Param{p("pa", 3), p("pb", 5)}, `"pb": saved with 4 values, model has 5`},
		{"a changed beta2", saved, AdamWConfig{Beta2: 0.95}, m.params, "beta2 = 0.999, optimizer has 0.95"},
		{"a changed weight decay", saved, AdamWConfig{WeightDecay: NoWeightDecay}, m.params, "weight_decay"},
		{"bytes that are not a state", []byte("hello world, not a state"), AdamWConfig{}, m.params, "bad magic"},
		{"a future version", append([]byte(stateMagic), 9, 0, 0, 0, 0, 0, 0, 0), AdamWConfig{}, m.params, "version 9 unsupported"},
		{"a truncated state", saved[:len(saved)-3], AdamWConfig{}, m.params, "second moment"},
		{"trailing bytes", append(append([]byte(nil), saved...), 0), AdamWConfig{}, m.params, "trailing"},
		{"duplicate model names", saved, AdamWConfig{}, []Param{p("pa", 3), p("pa", 3)}, "duplicate"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			o2 := mustAdamW(t, tt.cfg)
			err := o2.Load(bytes.NewReader(tt.data), tt.params)
			if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Load = %v, want ErrState containing %q", err, tt.want)
			}
			if o2.Steps() != 0 || o2.names != nil {
				t.Fatal("a failed Load changed the optimizer")
			}
		})
	}
	t.Run("loading into an optimizer that has stepped is refused", func(t *testing.T) {
		err := o.Load(bytes.NewReader(saved), m.params)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "already took 2 steps") {
			t.Fatalf("Load = %v", err)
		}
	})
	t.Run("a corrupt zstd stream is refused", func(t *testing.T) {
		err := mustAdamW(t, AdamWConfig{}).LoadCompressed(bytes.NewReader(saved), m.params)
		if !errors.Is(err, ErrState) {
			t.Fatalf("LoadCompressed of uncompressed bytes = %v, want ErrState", err)
		}
	})
}

func FuzzLoad(f *testing.F) {
	m, _, buf := trainedState(f)
	f.Add(buf.Bytes())
	f.Add([]byte(stateMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		o2 := mustAdamW(t, AdamWConfig{})
		if err := o2.Load(bytes.NewReader(data), m.clone().params); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("Load error %v does not wrap ErrState", err)
			}
			return
		}
		if o2.Steps() == 0 {
			return // a fresh state binds the model's params; nothing to compare
		}
		var out bytes.Buffer
		if err := o2.Save(&out); err != nil || !bytes.Equal(out.Bytes(), data) {
			t.Fatalf("an accepted state does not re-save to the same bytes (err %v)", err)
		}
	})
}
