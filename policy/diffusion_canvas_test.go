package policy

import (
	"slices"
	"testing"

	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

func TestFillCanvas(t *testing.T) {
	const eos = tokenizer.EOS
	cases := []struct {
		name   string
		in     []int32
		canvas int
		want   []int32
	}{
		{"stopped answer is refilled with eos", []int32{7, 8, eos}, 6, []int32{7, 8, eos, eos, eos, eos}},
		{"lone eos fills the canvas", []int32{eos}, 3, []int32{eos, eos, eos}},
		{"truncated answer is kept", []int32{7, 8, 9}, 6, []int32{7, 8, 9}},
		{"full canvas is kept", []int32{7, eos, 9}, 3, []int32{7, eos, 9}},
		{"longer than the canvas is kept", []int32{7, 8, eos}, 2, []int32{7, 8, eos}},
		{"empty stays empty", nil, 4, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.in)
			got := FillCanvas(in, c.canvas)
			if !slices.Equal(got, c.want) {
				t.Fatalf("FillCanvas(%v, %d) = %v, want %v", c.in, c.canvas, got, c.want)
			}
			if !slices.Equal(in, c.in) {
				t.Fatalf("input modified: %v", in)
			}
		})
	}
}
