package sampling

import (
	"reflect"
	"slices"
	"testing"
)

func TestUniformEpochs(t *testing.T) {
	u, err := NewUniform(11, testIDs(10))
	if err != nil {
		t.Fatal(err)
	}
	var flat []int
	for step, n := range []int{4, 4, 4, 4, 4, 10} { // the third batch straddles epochs 0 and 1
		picks, err := u.Next(int64(step), n)
		if err != nil {
			t.Fatal(err)
		}
		flat = append(flat, picks...)
	}
	t.Run("each epoch visits every prompt exactly once", func(t *testing.T) {
		for e := 0; e+10 <= len(flat); e += 10 {
			got := slices.Sorted(slices.Values(flat[e : e+10]))
			if !reflect.DeepEqual(got, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}) {
				t.Errorf("epoch %d: %v", e/10, flat[e:e+10])
			}
		}
	})
	t.Run("epochs are shuffled differently", func(t *testing.T) {
		if reflect.DeepEqual(flat[0:10], flat[10:20]) {
			t.Errorf("epochs 0 and 1 share the order %v", flat[0:10])
		}
	})
	t.Run("the cursor reports epoch and offset", func(t *testing.T) {
		// 30 picks of 10 prompts use up epoch 2; epoch 3 starts lazily.
		if s := u.Stats(); s.Epoch != 2 || s.EpochOffset != 10 || s.Picked != 10 {
			t.Errorf("stats %+v after 30 picks of 10 prompts", s)
		}
	})
	t.Run("a permutation depends only on seed and epoch", func(t *testing.T) {
		if got := permutation(nil, 11, 1, 10); !reflect.DeepEqual(got, flat[10:20]) {
			t.Errorf("permutation(11, epoch 1) = %v, the cursor gave %v", got, flat[10:20])
		}
		if reflect.DeepEqual(permutation(nil, 12, 1, 10), flat[10:20]) {
			t.Error("seeds 11 and 12 give the same epoch")
		}
	})
}

func TestNewRefusesBadPools(t *testing.T) {
	cases := []struct {
		name string
		ids  []uint64
	}{
		{"an empty pool is refused", nil},
		{"a duplicate prompt ID is refused", []uint64{4, 5, 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, kind := range []string{KindUniform, KindVAS} {
				cfg := DefaultConfig()
				cfg.Kind = kind
				if _, err := New(cfg, c.ids); err == nil {
					t.Errorf("%s: no error", kind)
				}
			}
		})
	}
	if _, err := NewUniform(0, []uint64{1}); err != nil {
		t.Fatal(err)
	}
	u, _ := NewUniform(0, []uint64{1})
	if _, err := u.Next(0, -1); err == nil {
		t.Error("Next with negative n: no error")
	}
}
