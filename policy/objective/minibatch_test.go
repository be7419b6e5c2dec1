package objective

import (
	"slices"
	"testing"
)

func TestMiniBatches(t *testing.T) {
	t.Run("without shuffle they are consecutive chunks", func(t *testing.T) {
		got := MiniBatches(7, 3, 1, false, 0, 0)
		want := [][]int{{0, 1, 2}, {3, 4, 5}, {6}}
		if len(got) != len(want) {
			t.Fatalf("got %v", got)
		}
		for i := range want {
			if !slices.Equal(got[i], want[i]) {
				t.Fatalf("got %v, want %v", got, want)
			}
		}
	})
	t.Run("shuffled they cover every row once, repeat per key and change per epoch", func(t *testing.T) {
		a := MiniBatches(64, 16, 1, true, 9, 1)
		b := MiniBatches(64, 16, 1, true, 9, 1)
		c := MiniBatches(64, 16, 1, true, 9, 2)
		flat := slices.Concat(a...)
		if !slices.Equal(flat, slices.Concat(b...)) {
			t.Error("same seed and epoch gave different orders")
		}
		if slices.Equal(flat, slices.Concat(c...)) {
			t.Error("another epoch gave the same order")
		}
		slices.Sort(flat)
		for i, r := range flat {
			if r != i {
				t.Fatalf("rows not a permutation: %v", flat)
			}
		}
	})
	t.Run("groups stay together and sizes round up to whole groups", func(t *testing.T) {
		for _, mb := range MiniBatches(22, 5, 4, true, 3, 0) {
			if len(mb) > 8 {
				t.Errorf("mini-batch of %d rows", len(mb))
			}
			for _, r := range mb {
				if !slices.Contains(mb, r/4*4) {
					t.Errorf("row %d separated from its group in %v", r, mb)
				}
			}
		}
	})
}

func TestStreamIntnIsInRangeAndKeyDependsOnOrder(t *testing.T) {
	s := NewStream(Key(1, 2, 3))
	for range 1000 {
		if v := s.Intn(7); v < 0 || v >= 7 {
			t.Fatalf("Intn(7) = %d", v)
		}
		if f := s.Float64(); f < 0 || f >= 1 {
			t.Fatalf("Float64 = %v", f)
		}
	}
	if Key(1, 2, 3) == Key(1, 3, 2) || Key(1, 2) == Key(2, 2) {
		t.Error("Key ignores order or seed")
	}
}
