package policy

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

func TestExpfMatchesMathExp(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi float64
	}{
		{"softmax range", -30, 0},
		{"around zero", -1, 1},
		{"large positive", 0, 88},
		{"large negative", -87, -30},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for i := 0; i <= 10000; i++ {
				x := float32(c.lo + (c.hi-c.lo)*float64(i)/10000)
				got, want := float64(expf(x)), math.Exp(float64(x))
				if math.Abs(got-want) > 4e-7*want {
					t.Fatalf("expf(%v) = %v, want %v", x, got, want)
				}
			}
		})
	}
	specials := []struct{ x, want float32 }{
		{float32(math.Inf(1)), float32(math.Inf(1))},
		{float32(math.Inf(-1)), 0},
		{100, float32(math.Inf(1))},
		{-100, 0},
		{0, 1},
	}
	for _, s := range specials {
		if got := expf(s.x); got != s.want {
			t.Errorf("expf(%v) = %v, want %v", s.x, got, s.want)
		}
	}
	if got := expf(float32(math.NaN())); got == got {
		t.Errorf("expf(NaN) = %v", got)
	}
}

func TestGELUF32MatchesFloat64(t *testing.T) {
	for i := 0; i <= 4000; i++ {
		u := float32(-10 + 20*float64(i)/4000)
		for _, c := range []struct {
			name      string
			got, want float32
		}{
			{"gelu", geluF32(u), float32(activate(actGELU, float64(u)))},
			{"gelu'", geluGradF32(u), float32(activateGrad(actGELU, float64(u)))},
		} {
			if math.Abs(float64(c.got-c.want)) > 2e-6*(1+math.Abs(float64(c.want))) {
				t.Fatalf("%s(%v) = %v, want %v", c.name, u, c.got, c.want)
			}
		}
	}
}

func TestSoftmaxTrainMatchesMaskedSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		n      int
		causal bool
	}{{37, false}, {37, true}, {32, false}, {32, true}, {128, true}} {
		n, causal := c.n, c.causal
		s := make([]float32, n*n)
		for i := range s {
			s[i] = float32(4 * rng.NormFloat64())
		}
		mask := make([]float32, n)
		for i := range mask {
			if i%5 != 3 && i > 0 {
				mask[i] = 1
			}
		}
		got, want := slices.Clone(s), slices.Clone(s)
		softmaxTrain(got, mask, n, causal)
		maskedSoftmax(want, mask, n, causal)
		for i := range got {
			if math.Abs(float64(got[i]-want[i])) > 1e-6 || (want[i] == 0) != (got[i] == 0) {
				t.Fatalf("n=%d causal=%v: p[%d] = %v, want %v", n, causal, i, got[i], want[i])
			}
		}
	}
}

// TestAccumulateIsBitIdenticalAcrossGOMAXPROCS: the parallel training
// kernels split work over goroutines, never the arithmetic of one value.
func TestAccumulateIsBitIdenticalAcrossGOMAXPROCS(t *testing.T) {
	cfg := Config{Layers: 2, DModel: 64, Heads: 4, DFF: 96, Context: 64, Vocab: 40, Causal: true, InitSeed: 7}
	rng := rand.New(rand.NewPCG(5, 6))
	var b SeqBatch
	for i := range 9 {
		c := make([]int32, 20+3*i)
		for j := range c {
			c[j] = int32(2 + rng.IntN(38))
		}
		b.Prompts, b.Completions = append(b.Prompts, []int32{1}), append(b.Completions, c)
	}
	prev := runtime.GOMAXPROCS(0)
	defer runtime.GOMAXPROCS(prev)
	var ref [][]float32
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		m := tinyModel(t, cfg)
		if _, err := m.Accumulate(b, 1, fixedObjective(3)); err != nil {
			t.Fatal(err)
		}
		if ref == nil {
			ref = m.grad
			continue
		}
		for i := range ref {
			if !slices.Equal(ref[i], m.grad[i]) {
				t.Fatalf("GOMAXPROCS=%d: gradient of %s differs from GOMAXPROCS=1", procs, m.names[i])
			}
		}
	}
}

// TestRowKernelsMatchFloat64 covers the vector kernels (on CPUs that have
// them), bodies and padded tails alike.
func TestRowKernelsMatchFloat64(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 9))
	for _, n := range []int{1, 7, 8, 13, 64, 515} {
		x, b, dy := make([]float32, n), make([]float32, n), make([]float32, n)
		for i := range x {
			x[i], b[i], dy[i] = float32(5*rng.NormFloat64()), float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		y, dx, e := make([]float32, n), make([]float32, n), slices.Clone(x)
		geluRow(y, x, b)
		geluGradRow(dx, x, b, dy)
		expSub(e, 3)
		for i := range x {
			u := float64(x[i]) + float64(b[i])
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"gelu", float64(y[i]), activate(actGELU, u)},
				{"gelu'", float64(dx[i]), float64(dy[i]) * activateGrad(actGELU, u)},
				{"exp", float64(e[i]), math.Exp(float64(x[i]) - 3)},
			} {
				if math.Abs(c.got-c.want) > 2e-6*(1+math.Abs(c.want)) {
					t.Fatalf("n=%d: %s at %d (u=%v) = %v, want %v", n, c.name, i, u, c.got, c.want)
				}
			}
		}
	}
}

// TestSumRowsTrainIsBitIdenticalToSumRows: the column-parallel (and, on
// AVX2, vector) bias-gradient sums equal the serial kernel bit for bit.
func TestSumRowsTrainIsBitIdenticalToSumRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 11))
	for _, c := range []struct{ rows, d int }{{1, 16}, {5, 7}, {300, 48}, {129, 100}, {2048, 128}} {
		src := make([]float32, c.rows*c.d)
		for i := range src {
			src[i] = float32(rng.NormFloat64())
		}
		got, want := make([]float32, c.d), make([]float32, c.d)
		sumRowsTrain(got, src, c.rows, c.d)
		sumRows(want, src, c.rows, c.d)
		if !slices.Equal(got, want) {
			t.Fatalf("%d×%d: column sums differ", c.rows, c.d)
		}
	}
}

// TestGELUKeptSigmoidIsBitIdentical: GELU forward and gradient with the
// sigmoid kept between them equal the recomputing kernels bit for bit.
func TestGELUKeptSigmoidIsBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 13))
	for _, c := range []struct{ rows, d int }{{3, 8}, {70, 13}, {130, 512}} {
		n := c.rows * c.d
		x, b, dy := make([]float32, n), make([]float32, c.d), make([]float32, n)
		for i := range x {
			x[i], dy[i] = float32(3*rng.NormFloat64()), float32(rng.NormFloat64())
		}
		for i := range b {
			b[i] = float32(rng.NormFloat64())
		}
		st := new(geluStash)
		y0, y1 := make([]float32, n), make([]float32, n)
		biasActTrain(y0, x, b, c.rows, c.d, actGELU, nil)
		biasActTrain(y1, x, b, c.rows, c.d, actGELU, st)
		dx0, dx1 := make([]float32, n), make([]float32, n)
		biasActGradTrain(dx0, x, b, dy, actGELU, nil)
		biasActGradTrain(dx1, x, b, dy, actGELU, st)
		if !slices.Equal(y0, y1) || !slices.Equal(dx0, dx1) {
			t.Fatalf("%d×%d: kept-sigmoid GELU differs from the recomputing one", c.rows, c.d)
		}
		if haveGELUKeep && st.keptFor(x) == nil {
			t.Fatalf("%d×%d: nothing kept", c.rows, c.d)
		}
	}
}
