package objective

import (
	"errors"
	"fmt"
	"testing"
)

// entropyGoldenInput is the batch of the "ent" golden cases.
func entropyGoldenInput() *LossInput {
	return &LossInput{
		Mask:    [][]float64{{1, 1, 1, 0}, {1, 0, 0, 0}},
		Logp:    [][]float64{{-1, -2, -0.5, -3}, {-0.25, -1, -1, -1}},
		OldLogp: [][]float64{{-1, -2, -0.5, -3}, {-0.25, -1, -1, -1}},
		Adv:     []float64{1, -0.5},
		Entropy: [][]float64{{0.5, 1, 1.5, 9}, {2, 9, 9, 9}},
	}
}

func TestEntropyBonusMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "ent") {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultGRPOConfig().Loss
			cfg.Agg = AggMode(c.name[len("ent "):])
			cfg.EntropyCoef = 0.01
			res, err := PolicyLoss(nil, entropyGoldenInput(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			checkClose(t, "pg loss", res.Loss, c.float(t, "pg"))
			checkClose(t, "entropy loss", res.EntropyLoss, c.float(t, "bonus"))
			checkClose(t, "total", res.Total(), c.float(t, "want"))
			var dent []float64
			for _, row := range res.DEntropy {
				dent = append(dent, row...)
			}
			checkAllClose(t, "dEntropy", dent, c.floats(t, "dent"))
		})
	}
}

// DEntropy must be the exact gradient of Total in H; the bonus is linear in
// H, so central differences are exact up to rounding.
func TestEntropyGradientMatchesFiniteDifferences(t *testing.T) {
	for _, mode := range []AggMode{AggTokenMean, AggSeqMeanTokenSum, AggSeqMeanTokenMean, AggSeqMeanTokenSumNorm, AggDrGRPO} {
		for _, coef := range []float64{0.003, -0.02} {
			t.Run(fmt.Sprintf("%s coef %v", mode, coef), func(t *testing.T) {
				cfg := LossConfig{Agg: mode, MaxLen: 12, EntropyCoef: coef}
				in := randomLossInput(uint64(len(mode)), 5, 8, false)
				res, err := PolicyLoss(nil, in, cfg)
				if err != nil {
					t.Fatal(err)
				}
				const h = 1e-4
				for i := range in.Entropy {
					for j, x := range in.Entropy[i] {
						in.Entropy[i][j] = x + h
						up, _ := PolicyLoss(nil, in, cfg)
						in.Entropy[i][j] = x - h
						down, _ := PolicyLoss(nil, in, cfg)
						in.Entropy[i][j] = x
						fd := (up.Total() - down.Total()) / (2 * h)
						if !near(res.DEntropy[i][j], fd, 1e-10, 1e-6) {
							t.Errorf("dEntropy[%d][%d] = %.10g, finite difference %.10g", i, j, res.DEntropy[i][j], fd)
						}
					}
				}
			})
		}
	}
}

// Micro-batches with global normalisers must add up to the mini-batch's
// entropy loss, as their policy losses do.
func TestEntropyLossOfMicroBatchesAddsUp(t *testing.T) {
	in := randomLossInput(5, 6, 9, false)
	cfg := LossConfig{EntropyCoef: 0.01}
	full, err := PolicyLoss(nil, in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var total float64
	for _, rows := range [][]int{{0, 1, 2}, {3, 4, 5}} {
		part := subInput(in, rows)
		for _, r := range rows {
			part.Entropy = append(part.Entropy, in.Entropy[r])
		}
		part.Tokens = full.Metrics.Tokens
		r, err := PolicyLoss(nil, part, cfg)
		if err != nil {
			t.Fatal(err)
		}
		total += r.EntropyLoss
	}
	checkClose(t, "sum of micro-batch entropy losses", total, full.EntropyLoss)
}

// A coefficient without entropies would be a bonus silently equal to zero;
// coefficient 0 must leave the loss and its gradient untouched.
func TestEntropyCoefficientNeedsEntropiesAndZeroIsOff(t *testing.T) {
	in := randomLossInput(3, 4, 6, false)
	cfg := LossConfig{EntropyCoef: 0.01}
	noEnt := *in
	noEnt.Entropy = nil
	if _, err := PolicyLoss(nil, &noEnt, cfg); !errors.Is(err, ErrInvalid) {
		t.Fatalf("entropy_coef without entropies: error %v, want ErrInvalid", err)
	}
	withBonus, err := PolicyLoss(nil, in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	off, err := PolicyLoss(nil, &noEnt, LossConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if off.DEntropy != nil || off.EntropyLoss != 0 || off.Total() != off.Loss {
		t.Fatalf("coefficient 0: DEntropy %v, entropy loss %v, total %v vs loss %v", off.DEntropy, off.EntropyLoss, off.Total(), off.Loss)
	}
	if withBonus.Loss != off.Loss {
		t.Fatalf("the bonus changed the policy loss: %v, want %v", withBonus.Loss, off.Loss)
	}
	for i := range off.DLogp {
		for j := range off.DLogp[i] {
			if withBonus.DLogp[i][j] != off.DLogp[i][j] {
				t.Fatalf("the bonus changed dLogp[%d][%d]", i, j)
			}
		}
	}
}
