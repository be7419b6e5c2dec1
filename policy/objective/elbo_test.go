package objective

import (
	"errors"
	"math"
	"slices"
	"testing"
)

func TestQuadratureMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "quad") {
		t.Run(c.name, func(t *testing.T) {
			ts, ws, err := Quadrature(Rule(c.name[len("quad "):]))
			if err != nil {
				t.Fatal(err)
			}
			checkAllClose(t, "t", ts, c.floats(t, "t"))
			checkAllClose(t, "w", ws, c.floats(t, "w"))
		})
	}
}

func TestGaussRulesIntegratePolynomialsExactly(t *testing.T) {
	for n := 1; n <= 5; n++ {
		ts, ws, err := Quadrature(Rule("gauss-" + string(rune('0'+n))))
		if err != nil {
			t.Fatal(err)
		}
		for deg := 0; deg <= 2*n-1; deg++ {
			var got float64
			for i := range ts {
				got += ws[i] * math.Pow(ts[i], float64(deg))
			}
			if want := 1 / float64(deg+1); !near(got, want, 1e-14, 1e-13) {
				t.Errorf("gauss-%d ∫t^%d = %v, want %v", n, deg, got, want)
			}
		}
	}
	for _, bad := range []Rule{"gauss-0", "gauss-6", "trapezoid"} {
		if _, _, err := Quadrature(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: err = %v", bad, err)
		}
	}
}

// toyELBO runs a plan on the toy model whose per-token log-prob is c
// everywhere, so each evaluation's masked sum is c·K.
func toyELBO(t *testing.T, cfg ELBOConfig, l int, c float64) float64 {
	t.Helper()
	plan, err := cfg.Plan(nil, l, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	sums := make([]float64, len(plan))
	for e, ev := range plan {
		sums[e] = c * float64(len(cfg.Mask(nil, nil, l, 1, 2, ev)))
	}
	return CombineELBO(plan, sums)
}

func TestSDMCToyELBOMatchesGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "elbo") {
		t.Run(c.name, func(t *testing.T) {
			cfg := ELBOConfig{Rule: Rule(c.fields["rule"]), MaskMin: int(c.float(t, "maskmin"))}
			checkClose(t, "elbo", toyELBO(t, cfg, int(c.float(t, "L")), -0.5), c.float(t, "want"))
		})
	}
}

func TestMaskCount(t *testing.T) {
	for _, tc := range []struct {
		t            float64
		l, min, want int
	}{{0.2113248654, 4, 0, 0}, {0.2113248654, 4, 1, 1}, {0.7886751346, 4, 1, 3}, {1, 7, 1, 7}, {0.5, 10, 0, 5}, {0.999, 1, 0, 0}} {
		if got := MaskCount(tc.t, tc.l, tc.min); got != tc.want {
			t.Errorf("MaskCount(%v, %d, %d) = %d, want %d", tc.t, tc.l, tc.min, got, tc.want)
		}
	}
}

func TestStratifiedCountsMatchGoldenValues(t *testing.T) {
	for _, c := range goldenCases(t, "strat") {
		t.Run(c.name, func(t *testing.T) {
			got := StratifiedCounts(make([]int, int(c.float(t, "b"))), int(c.float(t, "k0")), int(c.float(t, "L")))
			want := c.floats(t, "want")
			for i := range want {
				if float64(got[i]) != want[i] {
					t.Fatalf("got %v, want %v", got, want)
				}
			}
		})
	}
}

func TestDoubleMCAndOneStepAreExactOnTheToyModel(t *testing.T) {
	for _, cfg := range []ELBOConfig{{Estimator: EstDoubleMC, Draws: 4}, {Estimator: EstDoubleMC, Draws: 3}, {Estimator: EstOneStep}} {
		checkClose(t, string(cfg.Estimator), toyELBO(t, cfg, 10, -0.5), -5)
	}
	plan, _ := ELBOConfig{Estimator: EstDoubleMC, Draws: 4}.Plan(nil, 8, 1, 2)
	for _, ev := range plan {
		if ev.K < 1 || ev.K > 8 || ev.T != float64(ev.K)/8 {
			t.Errorf("bad stratified eval %+v", ev)
		}
	}
}

func TestDoubleMCStratification(t *testing.T) {
	const l = 8
	counts := func(cfg ELBOConfig, seed, rollout uint64, row BatchRow) []int {
		t.Helper()
		plan, err := cfg.PlanRow(nil, l, seed, rollout, row)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]int, len(plan))
		for i, ev := range plan {
			out[i] = ev.K
		}
		return out
	}
	batch := ELBOConfig{Estimator: EstDoubleMC, Draws: 2, Stratify: StratifyBatch}
	t.Run("batch spreads each pass over the rows from one start", func(t *testing.T) {
		for seed := range uint64(50) {
			var perRow [4][]int
			for r := range perRow {
				// Rollout keys differ per row: the counts must not depend on them.
				perRow[r] = counts(batch, seed, 1000+uint64(r), BatchRow{Index: r, Size: 4})
			}
			for d := range 2 {
				want := StratifiedCounts(make([]int, 4), perRow[0][d], l)
				for r := range perRow {
					if perRow[r][d] != want[r] {
						t.Fatalf("seed %d pass %d: row %d masks %d, want %v", seed, d, r, perRow[r][d], want)
					}
				}
			}
		}
	})
	t.Run("per rollout the passes are independent and uniform", func(t *testing.T) {
		const n = 8000
		var freq [l + 1]int
		sameHalf := map[string]int{}
		for _, cfg := range []ELBOConfig{batch, {Estimator: EstDoubleMC, Draws: 2}} {
			name := cfg.Stratify
			if name == "" {
				name = StratifyRollout
			}
			for seed := range uint64(n) {
				c := counts(cfg, seed, 7, BatchRow{Index: 3, Size: 5})
				if cfg.Stratify == StratifyBatch {
					freq[c[0]]++
				}
				if (c[0] <= l/2) == (c[1] <= l/2) {
					sameHalf[name]++
				}
			}
		}
		for k := 1; k <= l; k++ {
			if f := float64(freq[k]) / n; math.Abs(f-1.0/l) > 0.02 {
				t.Errorf("batch: count %d has frequency %.3f, want 1/%d", k, f, l)
			}
		}
		// Independent passes land in the same half of [1, L] half the time;
		// rollout stratification puts them in opposite halves always.
		if f := float64(sameHalf[StratifyBatch]) / n; math.Abs(f-0.5) > 0.03 {
			t.Errorf("batch: passes in the same half %.3f of the time, want 0.5", f)
		}
		if sameHalf[StratifyRollout] != 0 {
			t.Errorf("rollout: passes in the same half %d times, want 0", sameHalf[StratifyRollout])
		}
	})
	t.Run("is exact on the toy model", func(t *testing.T) {
		checkClose(t, "batch", toyELBO(t, batch, 10, -0.5), -5)
	})
	t.Run("rejects bad input", func(t *testing.T) {
		if err := (ELBOConfig{Stratify: "rows"}).Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("stratify rows: err = %v", err)
		}
		for _, row := range []BatchRow{{0, 0}, {-1, 2}, {2, 2}} {
			if _, err := batch.PlanRow(nil, l, 0, 0, row); !errors.Is(err, ErrInvalid) {
				t.Errorf("row %+v: err = %v", row, err)
			}
		}
	})
}

func TestSDMCPlanUsesDrawsAndWeights(t *testing.T) {
	plan, err := ELBOConfig{Rule: RuleGauss3, Draws: 2, MaskMin: 1}.Plan(nil, 16, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan) != 6 {
		t.Fatalf("plan has %d evals, want 6", len(plan))
	}
	checkClose(t, "coef node 1", plan[2].Coef, (4.0/9)/(0.5*2))
	if plan[2].Node != 1 || plan[3].Draw != 1 || plan[2].K != 8 {
		t.Errorf("plan[2..3] = %+v %+v", plan[2], plan[3])
	}
	if _, err := (ELBOConfig{MaskMin: 2}).Plan(nil, 4, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("mask_min 2: err = %v", err)
	}
	if _, err := (ELBOConfig{}).Plan(nil, 0, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("L 0: err = %v", err)
	}
}

func TestMasks(t *testing.T) {
	// Independent masks are keyed by (seed, rollout, node, draw); cyclic
	// ones by (seed, rollout) and the window (TestCyclicCoupling…).
	cfg := DefaultELBOConfig()
	cfg.Coupling = CouplingIndependent
	ev := Eval{Node: 1, Draw: 0, K: 5}
	t.Run("are sorted, distinct and in range", func(t *testing.T) {
		m := cfg.Mask(nil, nil, 12, 7, 3, ev)
		if len(m) != 5 || !slices.IsSorted(m) || m[0] < 0 || m[4] >= 12 || len(slices.Compact(slices.Clone(m))) != 5 {
			t.Errorf("mask %v", m)
		}
	})
	t.Run("are shared by every evaluation of the same rollout and differ across keys", func(t *testing.T) {
		a := cfg.Mask(nil, nil, 64, 7, 3, ev)
		b := cfg.Mask(nil, make([]int, 64), 64, 7, 3, ev)
		if !slices.Equal(a, b) {
			t.Errorf("same key gave %v and %v", a, b)
		}
		differ := 0
		for _, other := range [][]int{cfg.Mask(nil, nil, 64, 8, 3, ev), cfg.Mask(nil, nil, 64, 7, 4, ev),
			cfg.Mask(nil, nil, 64, 7, 3, Eval{Node: 0, K: 5}), cfg.Mask(nil, nil, 64, 7, 3, Eval{Node: 1, Draw: 1, K: 5})} {
			if !slices.Equal(a, other) {
				differ++
			}
		}
		if differ != 4 {
			t.Errorf("only %d of 4 other keys changed the mask", differ)
		}
	})
	t.Run("cover every position uniformly", func(t *testing.T) {
		const l, k, n = 8, 3, 4000
		counts := make([]int, l)
		dst, scratch := make([]int, 0, k), make([]int, l)
		for r := range n {
			for _, p := range SelectMask(dst, scratch, l, k, Key(1, uint64(r))) {
				counts[p]++
			}
		}
		want := float64(n * k / l) // 1500, sd ≈ 34
		for p, c := range counts {
			if math.Abs(float64(c)-want) > 6*34 {
				t.Errorf("position %d chosen %d times, want about %v", p, c, want)
			}
		}
	})
	t.Run("do not allocate with caller storage", func(t *testing.T) {
		dst, scratch := make([]int, 0, 64), make([]int, 64)
		if a := testing.AllocsPerRun(10, func() { SelectMask(dst, scratch, 64, 20, 5) }); a != 0 {
			t.Errorf("%v allocations", a)
		}
	})
	t.Run("prompt masks follow the probability and the key", func(t *testing.T) {
		m := PromptMask(nil, 20000, 0.15, 1, 2)
		var n int
		for _, b := range m {
			if b {
				n++
			}
		}
		if math.Abs(float64(n)/20000-0.15) > 0.015 {
			t.Errorf("rate %v", float64(n)/20000)
		}
		if !slices.Equal(m, PromptMask(nil, 20000, 0.15, 1, 2)) {
			t.Error("same key gave a different prompt mask")
		}
	})
}

// Cyclic coupling: the evaluations of a rollout take disjoint windows of
// one permutation while it lasts, each window is still a uniform subset,
// and the masks depend only on (seed, rollout) (so current, old and
// reference passes share them).
func TestCyclicCouplingSpreadsMasksAndKeepsThemUniform(t *testing.T) {
	const l = 32
	for _, c := range []struct {
		name string
		cfg  ELBOConfig
		// disjoint: the plan's counts sum to at most L, so no position may
		// be masked twice.
		disjoint bool
	}{
		{"gauss-2", ELBOConfig{Estimator: EstSDMC, Rule: RuleGauss2, MaskMin: 1, Coupling: CouplingCyclic}, true},
		{"gauss-4 two draws", ELBOConfig{Estimator: EstSDMC, Rule: "gauss-4", Draws: 2, MaskMin: 1, Coupling: CouplingCyclic}, false},
		{"double_mc 2", ELBOConfig{Estimator: EstDoubleMC, Draws: 2, Coupling: CouplingCyclic}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var freq [][]int // [eval][position]
			const rollouts = 4000
			for r := range uint64(rollouts) {
				plan, err := c.cfg.Plan(nil, l, 7, r)
				if err != nil {
					t.Fatal(err)
				}
				if freq == nil {
					freq = make([][]int, len(plan))
					for e := range freq {
						freq[e] = make([]int, l)
					}
				}
				seen := make([]int, l)
				total := 0
				for e, ev := range plan {
					m := c.cfg.Mask(nil, nil, l, 7, r, ev)
					again := c.cfg.Mask(nil, nil, l, 7, r, ev)
					if len(m) != ev.K || !slices.Equal(m, again) || !slices.IsSorted(m) {
						t.Fatalf("rollout %d eval %d: mask %v (again %v), want %d sorted positions, deterministic", r, e, m, again, ev.K)
					}
					for _, p := range m {
						seen[p]++
						if e < len(freq) {
							freq[e][p]++
						}
					}
					total += ev.K
				}
				if total <= l {
					for p, n := range seen {
						if n > 1 {
							t.Fatalf("rollout %d: position %d masked %d times although the %d masks fit in %d positions", r, p, n, total, l)
						}
					}
				} else if c.disjoint {
					t.Fatalf("rollout %d: counts sum to %d > %d", r, total, l)
				}
			}
			// Marginal uniformity: every position is masked by eval e in
			// about K_e/L of the rollouts (binomial, 5 standard deviations).
			for e, f := range freq {
				var n int
				for _, v := range f {
					n += v
				}
				mean := float64(n) / l
				sd := math.Sqrt(mean)
				for p, v := range f {
					if math.Abs(float64(v)-mean) > 5*sd+1 {
						t.Errorf("eval %d masks position %d %d times, want about %.0f", e, p, v, mean)
					}
				}
			}
		})
	}
}

func TestCouplingDoesNotChangeTheToyELBO(t *testing.T) {
	// A mask-independent per-token log-prob: the estimate is the same
	// whichever positions are masked.
	for _, coupling := range []string{"", CouplingIndependent, CouplingCyclic} {
		cfg := ELBOConfig{Estimator: EstSDMC, Rule: RuleGauss2, MaskMin: 0, Coupling: coupling}
		plan, err := cfg.Plan(nil, 4, 1, 2)
		if err != nil {
			t.Fatal(err)
		}
		var elbo float64
		for _, e := range plan {
			elbo += e.Coef * (-0.5 * float64(len(cfg.Mask(nil, nil, 4, 1, 2, e))))
		}
		if math.Abs(elbo-(-0.9509618943)) > 1e-9 {
			t.Errorf("coupling %q: toy ELBO %.10f, want -0.9509618943 (ALGORITHMS §3.5, L=4)", coupling, elbo)
		}
	}
	if err := (ELBOConfig{Coupling: "nested"}).Validate(); err == nil {
		t.Error("unknown coupling accepted")
	}
}
