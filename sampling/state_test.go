package sampling

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/apache/arrow/go/v17/arrow/memory"
)

func checkedMem(t testing.TB) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestResumeIsBitIdentical(t *testing.T) {
	// 37 prompts, batches of 10: the first epoch ends inside step 3's batch
	// (uniform) and the uniform half crosses epochs mid-batch too (VAS).
	w := newWorld(37, 4)
	kinds := []struct {
		name string
		cfg  func() Config
	}{
		{"uniform", func() Config { c := DefaultConfig(); c.Kind = KindUniform; return c }},
		{"vas incremental", DefaultConfig},
		{"vas with EMA and full refresh", func() Config {
			c := DefaultConfig()
			c.VAS.EMA, c.VAS.Refresh, c.VAS.RefreshEvery, c.VAS.TDS = 0.5, RefreshFull, 3, TDSEditDistance
			return c
		}},
	}
	for _, k := range kinds {
		for _, cut := range []int64{1, 3, 7} {
			t.Run(fmt.Sprintf("%s resumed at step %d picks as if never stopped", k.name, cut), func(t *testing.T) {
				mem := checkedMem(t)
				cfg := k.cfg()
				cfg.Seed = 99
				whole, err := New(cfg, w.ids)
				if err != nil {
					t.Fatal(err)
				}
				want := w.run(t, whole, 0, 12, 10)

				first, _ := New(cfg, w.ids)
				got := w.run(t, first, 0, cut, 10)
				var buf bytes.Buffer
				if err := first.SaveState(&buf, mem); err != nil {
					t.Fatal(err)
				}
				resumed, _ := New(cfg, w.ids)
				if err := resumed.LoadState(&buf, mem); err != nil {
					t.Fatal(err)
				}
				got = append(got, w.run(t, resumed, cut, 12, 10)...)
				if !reflect.DeepEqual(got, want) {
					t.Errorf("resumed picks differ:\n got %v\nwant %v", got, want)
				}
				var a, b bytes.Buffer
				if err := whole.SaveState(&a, mem); err != nil {
					t.Fatal(err)
				}
				if err := resumed.SaveState(&b, mem); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(a.Bytes(), b.Bytes()) {
					t.Error("final states differ")
				}
			})
		}
	}
}

func TestLoadStateRefusesForeignState(t *testing.T) {
	mem := checkedMem(t)
	ids := testIDs(5)
	save := func(s Sampler) []byte {
		var buf bytes.Buffer
		if err := s.SaveState(&buf, mem); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	target := newTestVAS(t, 1, nil, 5)
	w := newWorld(5, 4)
	w.run(t, target, 0, 2, 3)
	before := save(target)

	other, _ := NewVAS(1, DefaultConfig().VAS, append(testIDs(4), 77))
	uni, _ := NewUniform(1, ids)
	cases := []struct {
		name  string
		state []byte
	}{
		{"state of another seed is refused", save(newTestVAS(t, 2, nil, 5))},
		{"state of another prompt pool is refused", save(other)},
		{"state of a uniform sampler is refused by VAS", save(uni)},
		{"a truncated stream is refused", before[:len(before)/2]},
		{"an empty stream is refused", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := target.LoadState(bytes.NewReader(c.state), mem)
			if !errors.Is(err, ErrState) {
				t.Fatalf("LoadState = %v, want ErrState", err)
			}
			if after := save(target); !bytes.Equal(after, before) {
				t.Error("a refused load changed the sampler")
			}
		})
	}
}

func FuzzLoadState(f *testing.F) {
	mem := memory.NewGoAllocator()
	v, _ := NewVAS(1, DefaultConfig().VAS, testIDs(5))
	w := newWorld(5, 4)
	w.run(f, v, 0, 3, 4)
	var buf bytes.Buffer
	if err := v.SaveState(&buf, mem); err != nil {
		f.Fatal(err)
	}
	good := buf.Bytes()
	f.Add(good)
	f.Add(good[:len(good)-9])
	f.Add([]byte("ARROW1\x00\x00garbage"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, _ := NewVAS(1, DefaultConfig().VAS, testIDs(5))
		if err := s.LoadState(bytes.NewReader(b), mem); err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error %v does not wrap ErrState", err)
			}
			return
		}
		if _, err := s.Next(3, 4); err != nil {
			t.Fatal(err)
		}
	})
}
