package sampling

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

type goldenFile struct {
	OVS []struct{ P, Want float64 } `json:"ovs"`
	VPS struct {
		Alpha, Beta float64
		PassRate    []float64 `json:"pass_rate"`
		TDS         []float64 `json:"tds"`
		Raw         []float64 `json:"raw"`
		MinMax      []float64 `json:"minmax"`
		WOld        []float64 `json:"w_old"`
		EMA         []struct {
			Mu   float64
			Want []float64
		} `json:"ema"`
	} `json:"vps"`
	BatchSplit []struct {
		B                 int
		Lambda            float64
		Weighted, Uniform int
	} `json:"batch_split"`
	Diversity []struct {
		Name        string
		Seqs        [][]int32
		Distinct3   *float64 `json:"distinct_3"`
		SelfBLEU    *float64 `json:"self_bleu_123"`
		MeanEditRaw *float64 `json:"mean_edit_distance"`
	} `json:"diversity"`
	Filter []struct {
		Acc  []bool
		Keep bool
	} `json:"filter"`
}

func loadGolden(t *testing.T) *goldenFile {
	t.Helper()
	b, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatal(err)
	}
	var g goldenFile
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatalf("testdata/golden.json: %v", err)
	}
	return &g
}

func TestGoldenOVS(t *testing.T) {
	for _, c := range loadGolden(t).OVS {
		if got := OVS(c.P); !approx(got, c.Want) {
			t.Errorf("OVS(%v) = %v, want %v", c.P, got, c.Want)
		}
	}
}

// goldenVAS observes the §2.4 prompts through Observe (TDS preset, no
// completions, so it is kept) and returns the sampler.
func goldenVAS(t *testing.T, g *goldenFile, mu float64, wOld []float64) *VAS {
	t.Helper()
	cfg := DefaultConfig().VAS
	cfg.Alpha, cfg.Beta, cfg.EMA, cfg.WMin = g.VPS.Alpha, g.VPS.Beta, mu, 0
	v, err := NewVAS(1, cfg, testIDs(len(g.VPS.PassRate)))
	if err != nil {
		t.Fatal(err)
	}
	var groups []GroupOutcome
	for i, p := range g.VPS.PassRate {
		v.stats[i].TDS = g.VPS.TDS[i]
		if wOld != nil {
			v.stats[i].Weight, v.stats[i].HasWeight = wOld[i], true
		}
		correct := make([]bool, 8)
		for j := range correct {
			correct[j] = float64(j) < p*8
		}
		groups = append(groups, GroupOutcome{PromptID: v.pool.ids[i], Correct: correct})
	}
	if err := v.Observe(3, groups); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Next(4, 2); err != nil { // re-weights
		t.Fatal(err)
	}
	return v
}

func TestGoldenVPSAndWeights(t *testing.T) {
	g := loadGolden(t)
	t.Run("raw VPS and min-max weights match §2.4", func(t *testing.T) {
		v := goldenVAS(t, g, 0, nil)
		for i := range g.VPS.Raw {
			if got := v.stats[i].VPS; !approx(got, g.VPS.Raw[i]) {
				t.Errorf("VPS[%d] = %v, want %v", i, got, g.VPS.Raw[i])
			}
			if got := v.stats[i].Weight; !approx(got, g.VPS.MinMax[i]) {
				t.Errorf("weight[%d] = %.10f, want %.10f", i, got, g.VPS.MinMax[i])
			}
		}
	})
	for _, e := range g.VPS.EMA {
		t.Run(fmt.Sprintf("EMA with mu %v blends with the old weights", e.Mu), func(t *testing.T) {
			v := goldenVAS(t, g, e.Mu, g.VPS.WOld)
			for i, want := range e.Want {
				if got := v.stats[i].Weight; !approx(got, want) {
					t.Errorf("weight[%d] = %.10f, want %.10f", i, got, want)
				}
			}
		})
	}
}

func TestGoldenBatchSplit(t *testing.T) {
	for _, c := range loadGolden(t).BatchSplit {
		w, u := BatchSplit(c.B, c.Lambda)
		if w != c.Weighted || u != c.Uniform {
			t.Errorf("BatchSplit(%d, %v) = (%d, %d), want (%d, %d)", c.B, c.Lambda, w, u, c.Weighted, c.Uniform)
		}
	}
}

func TestGoldenDiversity(t *testing.T) {
	for _, c := range loadGolden(t).Diversity {
		t.Run(c.Name, func(t *testing.T) {
			if c.Distinct3 != nil {
				if got := Distinct3(c.Seqs); !approx(got, *c.Distinct3) {
					t.Errorf("Distinct3 = %.10f, want %.10f", got, *c.Distinct3)
				}
			}
			if c.SelfBLEU != nil {
				if got := SelfBLEU123(c.Seqs); !approx(got, *c.SelfBLEU) {
					t.Errorf("SelfBLEU123 = %.10f, want %.10f", got, *c.SelfBLEU)
				}
			}
			if c.MeanEditRaw != nil {
				sum, n := 0, 0
				for i := range c.Seqs {
					for j := i + 1; j < len(c.Seqs); j++ {
						d, _ := levenshtein(c.Seqs[i], c.Seqs[j], nil)
						sum, n = sum+d, n+1
					}
				}
				if got := float64(sum) / float64(n); !approx(got, *c.MeanEditRaw) {
					t.Errorf("mean edit distance = %v, want %v", got, *c.MeanEditRaw)
				}
			}
		})
	}
}

func TestGoldenFilter(t *testing.T) {
	for _, c := range loadGolden(t).Filter {
		if got := KeepGroup(c.Acc); got != c.Keep {
			t.Errorf("KeepGroup(%v) = %v, want %v", c.Acc, got, c.Keep)
		}
	}
}
