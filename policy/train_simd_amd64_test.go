//go:build amd64 && !purego

package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash"
	"math"
	"os"
	"testing"
)

// TestTrainSIMDBits pins the output bits of every kernel in
// train_simd_amd64.s. The kernels are generated (internal/trainasmgen);
// a change to the generator that changes any result by one bit, on any
// input here, changes a hash. The instructions involved (add, mul, div,
// FMA, round, convert, min/max, compare, blend) are exactly specified by
// IEEE 754 and the x86 manuals, NaN propagation included, so the hashes
// do not depend on the CPU.
//
// The inputs: normals of several scales, values around the exp clamp
// limits and where GELU's exponent argument reaches them, zeros and
// negative zeros, large magnitudes, specials (±Inf, NaN, subnormals) and
// random bit patterns, over lengths 8…4096 (every multiple of 8 up to 256
// and a few larger; all multiples of 8 up to 4096 with
// RLPIPE_SIMD_FULL=1). RLPIPE_SIMD_DUMP=file writes every output there.
func TestTrainSIMDBits(t *testing.T) {
	if !haveAVX2 {
		t.Skip("no AVX2+FMA")
	}
	full := os.Getenv("RLPIPE_SIMD_FULL") != ""
	var lens []int
	for n := 8; n <= 4096; n += 8 {
		if full || n <= 256 || n == 264 || n == 512 || n == 1000 || n == 1024 || n == 2048 || n == 4088 || n == 4096 {
			lens = append(lens, n)
		}
	}
	var dump *os.File
	if p := os.Getenv("RLPIPE_SIMD_DUMP"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		dump = f
	}
	kernels := []struct {
		name string
		run  func(h *simdHash, lens []int)
	}{
		{"geluAVX2", simdBitsGelu},
		{"geluGradAVX2", simdBitsGeluGrad},
		{"geluKeepAVX2", simdBitsGeluKeep},
		{"geluGradKeptAVX2", simdBitsGeluGradKept},
		{"expSubAVX2", simdBitsExpSub},
		{"maxLiveAVX2+expNormAVX2", simdBitsSoftmax},
		{"sumColsAVX2", simdBitsSumCols},
	}
	want := map[string]string{}
	if !full {
		want = simdBitsWant
	}
	for _, k := range kernels {
		h := &simdHash{Hash: sha256.New(), dump: dump}
		k.run(h, lens)
		got := hex.EncodeToString(h.Sum(nil))
		t.Logf("%s: %s (%d values)", k.name, got, h.values)
		if w, ok := want[k.name]; ok && got != w {
			t.Errorf("%s: output hash %s, want %s", k.name, got, w)
		}
	}
}

// simdBitsWant are the hashes of the hand-written kernels the generator
// replaced (and of the generated ones: the same).
var simdBitsWant = map[string]string{
	"geluAVX2":                "e6cbe60c3d2cc67c262aa6a896ab4f6a0d4991404e61a032355b4f7107cb327c",
	"geluGradAVX2":            "00f0e967370f5db9fff8837fa69dba12a0a7030bb64e415b97364c81487e6823",
	"geluKeepAVX2":            "f23a7c898c815e37e0568c7046993f5e0be01b0c3a5809d3ee844ce853fb015f",
	"geluGradKeptAVX2":        "5b7a3eac09563ef3416eecd1bd6ca29e53f570bf2724866d3b549fd47623e4aa",
	"expSubAVX2":              "3723468ff010b51d05f70ccf203c20ca5fb67b14b6c2db5979d340239bbdaf62",
	"maxLiveAVX2+expNormAVX2": "65424f9297a6c26f47ce4532e289233269b85b552de4b218d3a3ac64edc69f1e",
	"sumColsAVX2":             "6a71b80046a738e73941dc31ea0f4c3506a4602366e38ab94e6a0716bcf5f45c",
}

// simdHash hashes (and optionally dumps) output bits.
type simdHash struct {
	hash.Hash
	dump   *os.File
	values int
}

func (h *simdHash) f32(v []float32) {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	h.put(b)
	h.values += len(v)
}

func (h *simdHash) f64(v []float64) {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(x))
	}
	h.put(b)
	h.values += len(v)
}

func (h *simdHash) put(b []byte) {
	h.Write(b)
	if h.dump != nil {
		h.dump.Write(b)
	}
}

// simdRand is splitmix64: inputs that do not depend on math/rand's
// algorithms, which may change between Go releases.
type simdRand uint64

func (r *simdRand) u64() uint64 {
	*r += 0x9e3779b97f4a7c15
	z := uint64(*r)
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

func (r *simdRand) uniform() float64 { return float64(r.u64()>>11) / (1 << 53) }

// normal is an Irwin–Hall approximation: plain arithmetic, so the inputs
// are the same everywhere.
func (r *simdRand) normal() float64 {
	s := -6.0
	for range 12 {
		s += r.uniform()
	}
	return s
}

// simdClasses are the input generators, each filling a row.
var simdClasses = []struct {
	name string
	fill func(r *simdRand, v []float32)
}{
	{"normal0.01", simdNormal(0.01)},
	{"normal0.3", simdNormal(0.3)},
	{"normal1", simdNormal(1)},
	{"normal3", simdNormal(3)},
	{"normal10", simdNormal(10)},
	{"normal100", simdNormal(100)},
	{"uniform±12", func(r *simdRand, v []float32) { // GELU's exp argument crosses ±87/80
		for i := range v {
			v[i] = float32(24*r.uniform() - 12)
		}
	}},
	{"clamp", func(r *simdRand, v []float32) { // around the exp clamp limits
		cs := []float32{-87, 80, 87, -80, -88.72, 88.72, -103.3, -9.6, 9.6}
		for i := range v {
			c := cs[r.u64()%uint64(len(cs))]
			switch r.u64() % 4 {
			case 0:
				v[i] = c
			case 1:
				v[i] = math.Nextafter32(c, float32(math.Inf(1)))
			case 2:
				v[i] = math.Nextafter32(c, float32(math.Inf(-1)))
			default:
				v[i] = c + float32(4*r.uniform()-2)
			}
		}
	}},
	{"zeros", func(r *simdRand, v []float32) {
		for i := range v {
			if r.u64()%2 == 0 {
				v[i] = float32(math.Copysign(0, -1))
			} else {
				v[i] = 0
			}
		}
	}},
	{"large", func(r *simdRand, v []float32) { // ±2^6 … ±MaxFloat32
		for i := range v {
			u := r.u64()
			e := 127 + 6 + uint32(u%(254-127-6+1))
			v[i] = math.Float32frombits(uint32(u>>32)&0x807fffff | e<<23)
		}
	}},
	{"special", func(r *simdRand, v []float32) {
		sp := []float32{
			float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
			math.Float32frombits(0xffc00001), math.Float32frombits(1),
			math.Float32frombits(0x807fffff), math.SmallestNonzeroFloat32,
			math.MaxFloat32, -math.MaxFloat32, math.Float32frombits(0x00800000),
			float32(math.Copysign(0, -1)), 0, 1, -1,
		}
		for i := range v {
			v[i] = sp[r.u64()%uint64(len(sp))]
		}
	}},
	{"bits", func(r *simdRand, v []float32) {
		for i := range v {
			v[i] = math.Float32frombits(uint32(r.u64()))
		}
	}},
}

func simdNormal(scale float64) func(r *simdRand, v []float32) {
	return func(r *simdRand, v []float32) {
		for i := range v {
			v[i] = float32(scale * r.normal())
		}
	}
}

// simdEach calls f with inputs of every class (x) against a bias class
// (b: zeros, small normals, or the same class) at every length.
func simdEach(lens []int, f func(r *simdRand, x, b []float32)) {
	r := simdRand(1)
	for _, c := range simdClasses {
		for bi, bc := range []int{8, 1, -1} {
			for _, n := range lens {
				if bi == 2 && n > 512 {
					continue
				}
				x := make([]float32, n)
				b := make([]float32, n)
				c.fill(&r, x)
				if bc < 0 {
					c.fill(&r, b)
				} else {
					simdClasses[bc].fill(&r, b)
				}
				f(&r, x, b)
			}
		}
	}
}

func simdBitsGelu(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		y := make([]float32, len(x))
		geluAVX2(&y[0], &x[0], &b[0], len(x))
		sh.f32(y)
	})
}

func simdBitsGeluGrad(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		dx := make([]float32, len(x))
		dy := make([]float32, len(x))
		simdClasses[2].fill(r, dy)
		geluGradAVX2(&dx[0], &x[0], &b[0], &dy[0], len(x))
		sh.f32(dx)
	})
}

func simdBitsGeluKeep(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		y := make([]float32, len(x))
		s := make([]float32, len(x))
		geluKeepAVX2(&y[0], &s[0], &x[0], &b[0], len(x))
		sh.f32(y)
		sh.f32(s)
	})
}

func simdBitsGeluGradKept(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		n := len(x)
		y := make([]float32, n)
		s := make([]float32, n)
		dx := make([]float32, n)
		dy := make([]float32, n)
		simdClasses[2].fill(r, dy)
		geluKeepAVX2(&y[0], &s[0], &x[0], &b[0], n)
		geluGradKeptAVX2(&dx[0], &x[0], &b[0], &s[0], &dy[0], n)
		sh.f32(dx)
		// And a sigmoid that is not one: any s in [0, 1] and beyond.
		for i := range s {
			s[i] = float32(1.5*r.uniform() - 0.25)
		}
		geluGradKeptAVX2(&dx[0], &x[0], &b[0], &s[0], &dy[0], n)
		sh.f32(dx)
	})
}

func simdBitsExpSub(sh *simdHash, lens []int) {
	ms := []float32{0, 1, -1, 87, -87, 80, -80, float32(math.Copysign(0, -1)), 1e30}
	simdEach(lens, func(r *simdRand, x, b []float32) {
		p := make([]float32, len(x))
		copy(p, x)
		m := ms[r.u64()%uint64(len(ms))]
		if r.u64()%2 == 0 {
			m = b[r.u64()%uint64(len(b))]
		}
		expSubAVX2(&p[0], len(p), m)
		sh.f32([]float32{m})
		sh.f32(p)
	})
}

func simdBitsSoftmax(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		n := len(x)
		mask := make([]float32, n)
		switch r.u64() % 3 {
		case 0:
			for i := range mask {
				mask[i] = 1
			}
		case 1: // 0, −0, NaN, 1 and the bias row's values
			for i := range mask {
				switch r.u64() % 5 {
				case 0:
					mask[i] = 0
				case 1:
					mask[i] = float32(math.Copysign(0, -1))
				case 2:
					mask[i] = float32(math.NaN())
				case 3:
					mask[i] = 1
				default:
					mask[i] = b[i]
				}
			}
		default:
			copy(mask, b)
		}
		for _, hi := range []int{0, 1, int(r.u64() % uint64(n+1)), n - 1, n, n + 9} {
			if hi < 0 {
				continue
			}
			m := maxLiveAVX2(&x[0], &mask[0], n, hi)
			sh.f32([]float32{m})
			for _, mm := range []float32{m, 0, b[0]} {
				p := make([]float32, n)
				copy(p, x)
				expNormAVX2(&p[0], &mask[0], n, hi, mm)
				sh.f32(p)
			}
		}
	})
}

func simdBitsSumCols(sh *simdHash, lens []int) {
	simdEach(lens, func(r *simdRand, x, b []float32) {
		n := len(x) &^ 15
		if n == 0 || len(x) > 1024 {
			return
		}
		for _, rows := range []int{1, 2, 3, 7} {
			for _, pad := range []int{0, 3, 16} {
				ld := n + pad
				src := make([]float32, rows*ld)
				for i := 0; i < len(src); i += len(x) {
					copy(src[i:], x)
				}
				// Mix in the bias row so that rows differ.
				for i := range src {
					if r.u64()%3 == 0 {
						src[i] = b[i%len(b)]
					}
				}
				dst := make([]float64, n)
				sumColsAVX2(&dst[0], &src[0], rows, ld, n)
				sh.f64(dst)
			}
		}
	})
}
