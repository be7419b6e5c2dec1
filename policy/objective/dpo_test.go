package objective

import (
	"errors"
	"math"
	"reflect"
	"testing"
)

func TestGroupPairs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		rewards []float64
		groups  []int
		want    []Pair
	}{
		{"picks the highest and the lowest reward of each group", []float64{0.2, 0.9, 0.1, 1, 0, 0.5}, []int{0, 0, 0, 1, 1, 1}, []Pair{{1, 2}, {3, 4}}},
		{"skips a group whose rewards are all equal", []float64{1, 1, 0, 1}, []int{0, 0, 1, 1}, []Pair{{3, 2}}},
		{"breaks ties by the smallest row index", []float64{1, 0, 1, 0}, []int{5, 5, 5, 5}, []Pair{{0, 1}}},
		{"ignores NaN rewards", []float64{math.NaN(), 0, 1}, []int{0, 0, 0}, []Pair{{2, 1}}},
		{"follows label order of first appearance", []float64{0, 1, 1, 0}, []int{9, 2, 9, 2}, []Pair{{2, 0}, {1, 3}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := GroupPairs(nil, tc.rewards, tc.groups); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func dpoInput() *DPOInput {
	return &DPOInput{
		Logp:   [][]float64{{-0.5, -1.0, -0.2}, {-2.0, -0.1, 9}, {-0.3, -0.4}, {-1.1}},
		Mask:   [][]float64{{1, 1, 1}, {1, 1, 0}, {1, 1}, {1}},
		RefSeq: []float64{-2.0, -1.5, -0.5, -1.6},
		Pairs:  []Pair{{0, 1}, {2, 3}},
	}
}

func TestDPOLossMatchesAnIndependentFormula(t *testing.T) {
	in := dpoInput()
	const beta = 0.1
	loss, _, m, err := DPOLoss(nil, in, beta)
	if err != nil {
		t.Fatal(err)
	}
	// Sequence sums by hand: -1.7, -2.1, -0.7, -1.1.
	z1 := beta * ((-1.7 + 2.0) - (-2.1 + 1.5))
	z2 := beta * ((-0.7 + 0.5) - (-1.1 + 1.6))
	want := (-math.Log(1/(1+math.Exp(-z1))) - math.Log(1/(1+math.Exp(-z2)))) / 2
	checkClose(t, "loss", loss, want)
	checkClose(t, "margin", m.Margin, (z1+z2)/2)
	checkClose(t, "accuracy", m.Accuracy, 0.5)
	if m.Pairs != 2 {
		t.Errorf("pairs = %d", m.Pairs)
	}
}

func TestDPOLossGradientMatchesFiniteDifferences(t *testing.T) {
	in := dpoInput()
	in.Pairs = append(in.Pairs, Pair{0, 3}) // row 0 in two pairs accumulates
	const beta, h = 0.7, 1e-6
	_, grad, _, err := DPOLoss(nil, in, beta)
	if err != nil {
		t.Fatal(err)
	}
	for i := range in.Logp {
		for j := range in.Logp[i] {
			x := in.Logp[i][j]
			in.Logp[i][j] = x + h
			up, _, _, _ := DPOLoss(nil, in, beta)
			in.Logp[i][j] = x - h
			down, _, _, _ := DPOLoss(nil, in, beta)
			in.Logp[i][j] = x
			if fd := (up - down) / (2 * h); !near(grad[i][j], fd, 1e-8, 1e-6) {
				t.Errorf("grad[%d][%d] = %v, finite difference %v", i, j, grad[i][j], fd)
			}
		}
	}
	if grad[1][2] != 0 || math.Signbit(grad[1][2]) {
		t.Errorf("masked token gradient = %v, want +0", grad[1][2])
	}
}

func TestDPOLossIsStableForLargeMargins(t *testing.T) {
	in := dpoInput()
	in.RefSeq[1] = 1e4 // huge positive margin for pair 0
	in.RefSeq[3] = -1e4
	loss, grad, _, err := DPOLoss(nil, in, 1)
	if err != nil || math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(grad[0][0]) {
		t.Fatalf("loss %v grad %v err %v", loss, grad[0][0], err)
	}
}

func TestDPOLossRejectsBadInput(t *testing.T) {
	in := dpoInput()
	if _, _, _, err := DPOLoss(nil, in, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("beta 0: err = %v", err)
	}
	in.Pairs = []Pair{{0, 4}}
	if _, _, _, err := DPOLoss(nil, in, 0.1); !errors.Is(err, ErrInvalid) {
		t.Errorf("pair out of range: err = %v", err)
	}
}

func TestSeqLogpSumsMaskedTokens(t *testing.T) {
	got := SeqLogp(nil, dpoInput().Logp, dpoInput().Mask)
	checkAllClose(t, "seq", got, []float64{-1.7, -2.1, -0.7, -1.1})
}
