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

// TestDPOLossGoldenNormalizations pins the loss and gradient of dpoInput
// under both normalisers. By hand, with β = 0.1, the sequence sums
// −1.7, −2.1, −0.7, −1.1 and the reference sums −2.0, −1.5, −0.5, −1.6:
//
//	pair (0,1): z1 = 0.1·((−1.7+2.0) − (−2.1+1.5)) = 0.1·(0.3+0.6) = 0.09
//	pair (2,3): z2 = 0.1·((−0.7+0.5) − (−1.1+1.6)) = 0.1·(−0.2−0.5) = −0.07
//	ℓ1 = log(1+e^−0.09) = log 1.913931193 = 0.6491593390
//	ℓ2 = log(1+e^0.07)  = log 2.072508181 = 0.7287595555
//	pairs  (N = 2): loss = (ℓ1+ℓ2)/2 = 1.378918895/2 = 0.6889594473
//	groups (N = 5, three groups without a pair): loss = 1.378918895/5 = 0.2755837789
//
// The gradient on every unmasked token of a chosen row is −σ(−z)·β/N and
// on a rejected row +σ(−z)·β/N, with σ(−z1) = 0.4775151752 and σ(−z2) =
// 0.5174928577: for N = 2, ∓0.02387575876 (pair 1) and ∓0.02587464288
// (pair 2); for N = 5, ∓0.009550303504 and ∓0.01034985715.
func TestDPOLossGoldenNormalizations(t *testing.T) {
	for _, tc := range []struct {
		name         string
		groups       int
		loss, g1, g2 float64
	}{
		{"pairs: the mean over pairs (Groups 0)", 0, 0.6889594472871536, 0.023875758760409996, 0.02587464288331949},
		{"pairs: Groups equal to the pair count is the same", 2, 0.6889594472871536, 0.023875758760409996, 0.02587464288331949},
		{"groups: the sum over pairs divided by 5 groups", 5, 0.27558377891486147, 0.009550303504163998, 0.010349857153327795},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := dpoInput()
			in.Groups = tc.groups
			loss, grad, m, err := DPOLoss(nil, in, 0.1)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "loss", loss, tc.loss)
			checkAllClose(t, "grad[0]", grad[0], []float64{-tc.g1, -tc.g1, -tc.g1})
			checkAllClose(t, "grad[1]", grad[1], []float64{tc.g1, tc.g1, 0})
			checkAllClose(t, "grad[2]", grad[2], []float64{-tc.g2, -tc.g2})
			checkAllClose(t, "grad[3]", grad[3], []float64{tc.g2})
			// The metrics describe the pairs whatever the normaliser.
			checkClose(t, "margin", m.Margin, (0.09-0.07)/2)
			checkClose(t, "accuracy", m.Accuracy, 0.5)
		})
	}
}

func TestDPOLossGroupsNormalizationScalesThePairMean(t *testing.T) {
	// Σ ℓ / G = (P/G)·mean ℓ, for the loss and every gradient entry; with
	// no pairs both are 0 whatever G.
	in := dpoInput()
	pl, pg, _, err := DPOLoss(nil, in, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	in.Groups = 7
	gl, gg, _, err := DPOLoss(nil, in, 0.3)
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "loss", gl, pl*2/7)
	for i := range pg {
		for j := range pg[i] {
			checkClose(t, "grad", gg[i][j], pg[i][j]*2/7)
		}
	}
	in.Pairs = nil
	if l, g, _, err := DPOLoss(nil, in, 0.3); err != nil || l != 0 || g[0][0] != 0 {
		t.Errorf("no pairs: loss %v grad %v err %v", l, g[0][0], err)
	}
}

func TestDPOLossGradientMatchesFiniteDifferences(t *testing.T) {
	in := dpoInput()
	in.Pairs = append(in.Pairs, Pair{0, 3}) // row 0 in two pairs accumulates
	in.Groups = 4                           // the groups normaliser
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
	in.Groups = -1
	if _, _, _, err := DPOLoss(nil, in, 0.1); !errors.Is(err, ErrInvalid) {
		t.Errorf("negative groups: err = %v", err)
	}
	in.Groups = 0
	in.Pairs = []Pair{{0, 4}}
	if _, _, _, err := DPOLoss(nil, in, 0.1); !errors.Is(err, ErrInvalid) {
		t.Errorf("pair out of range: err = %v", err)
	}
}

func TestSeqLogpSumsMaskedTokens(t *testing.T) {
	got := SeqLogp(nil, dpoInput().Logp, dpoInput().Mask)
	checkAllClose(t, "seq", got, []float64{-1.7, -2.1, -0.7, -1.1})
}
