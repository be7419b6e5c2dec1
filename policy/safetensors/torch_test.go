package safetensors

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/data/reftest"
)

// runRef runs testdata/torch_ref.py with args and returns its output.
func runRef(t *testing.T, args ...string) string {
	t.Helper()
	py := reftest.Torch(t)
	out, err := exec.Command(py, append([]string{"testdata/torch_ref.py"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("torch_ref.py %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// sameFloat reports whether got and want have the same bits, treating any
// NaN as equal to any NaN.
func sameFloat(got, want float32) bool {
	if got != got && want != want {
		return true
	}
	return math.Float32bits(got) == math.Float32bits(want)
}

// TestReadsTorchWrittenCheckpoints has torch write BF16, F16, F32, F64 and
// I64 tensors (every 16-bit pattern of BF16 and F16 among them) as one
// file and as two shards with an index, and checks ReadFloat32 returns
// exactly the float32 values torch's .float() gives.
func TestReadsTorchWrittenCheckpoints(t *testing.T) {
	dir := t.TempDir()
	runRef(t, "gen", dir)
	raw, err := os.ReadFile(filepath.Join(dir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var expected map[string][]uint32
	if err := json.Unmarshal(raw, &expected); err != nil {
		t.Fatal(err)
	}
	if len(expected) != 8 {
		t.Fatalf("expected.json holds %d tensors, want 8", len(expected))
	}
	for _, src := range []string{filepath.Join(dir, "single.safetensors"), filepath.Join(dir, "sharded"), filepath.Join(dir, "sharded", IndexFileName)} {
		t.Run(filepath.Base(src), func(t *testing.T) {
			c, err := Open(src)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			names := c.Names()
			if len(names) != 9 || !slices.IsSorted(names) {
				t.Fatalf("Names = %v, want 9 sorted names", names)
			}
			var buf []float32
			for name, want := range expected {
				buf, err = c.ReadFloat32(name, buf)
				if err != nil {
					t.Fatal(err)
				}
				if len(buf) != len(want) {
					t.Fatalf("%s: %d values, torch has %d", name, len(buf), len(want))
				}
				for i, w := range want {
					if !sameFloat(buf[i], math.Float32frombits(w)) {
						t.Fatalf("%s[%d] = %#08x, torch .float() gives %#08x", name, i, math.Float32bits(buf[i]), w)
					}
				}
			}
			info, ok := c.Info("bf16.all_patterns")
			if !ok || info.Dtype != BF16 || !slices.Equal(info.Shape, []int{256, 256}) || !strings.HasSuffix(info.File, ".safetensors") {
				t.Errorf("Info(bf16.all_patterns) = %+v, %v", info, ok)
			}
			if meta := c.Metadata(); meta["format"] != "pt" {
				t.Errorf("Metadata = %v, want format pt", meta)
			}
			if _, err := c.ReadFloat32("position_ids", nil); err == nil || !strings.Contains(err.Error(), "I64") || !strings.Contains(err.Error(), ".safetensors") {
				t.Errorf("ReadFloat32 of an I64 tensor = %v, want an error naming the dtype and file", err)
			}
		})
	}
}

// goInputs are the float32 tensors the Go writer stores for torch to
// check: random bit patterns (every class of float32), rounding edges of
// BF16 and F16, a scalar, an empty tensor and normal-looking weights.
func goInputs() []Tensor {
	r := rand.New(rand.NewPCG(7, 11))
	randomBits := make([]float32, 200*150)
	for i := range randomBits {
		randomBits[i] = math.Float32frombits(r.Uint32())
	}
	weights := make([]float32, 64*33)
	for i := range weights {
		weights[i] = float32(r.NormFloat64() * 0.02)
	}
	p2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	nan := func(bits uint32) float32 { return math.Float32frombits(bits) }
	edges := []float32{
		0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		nan(0x7FC00000), nan(0xFFC00000), nan(0x7F800001), nan(0x7FA12345),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1.1754942e-38,
		math.Float32frombits(0x7F7F7FFF), math.Float32frombits(0x7F7F8000), math.Float32frombits(0x7F7E8000),
		1 + p2(-8), 1 + 3*p2(-8), 1 + p2(-8) + p2(-20), // BF16 ties and a near-tie
		1 + p2(-11), 1 + 3*p2(-11), -(1 + p2(-11) + p2(-20)), // F16 ties and a near-tie
		65504, 65519, 65519.996, 65520, 65536, -70000, 1e10,
		p2(-14), p2(-14) - p2(-25), p2(-24), p2(-25), p2(-25) * 1.0001, 3 * p2(-25), -p2(-26), 1e-30,
		0.1, -1.0 / 3, 2.5, 1024.5,
	}
	return []Tensor{
		{Name: "model.layers.0.self_attn.q_proj.weight", Shape: []int{200, 150}, Data: randomBits},
		{Name: "model.embed_tokens.weight", Shape: []int{64, 33}, Data: weights},
		{Name: "edges", Shape: []int{len(edges)}, Data: edges},
		{Name: "lm_head.scale<ß😀>", Shape: []int{}, Data: []float32{-0.75}}, // the index escapes it as Python does
		{Name: "empty", Shape: []int{0, 5}, Data: []float32{}},
	}
}

// TestTorchReadsGoCheckpoints writes the Go inputs as F32, BF16 and F16,
// single-file and sharded, and has torch_ref.py parse every file by the
// spec and compare each value with torch's own conversion of the float32
// input, bit for bit (NaN as NaN), plus __metadata__, shard names, the
// index and name order. Then Open reads the same checkpoints back.
func TestTorchReadsGoCheckpoints(t *testing.T) {
	reftest.Torch(t) // skip before writing anything when torch is missing
	dir := t.TempDir()
	tensors := goInputs()
	meta := map[string]string{"rlpipe.step": "7"}
	cases := map[string]WriteOptions{
		"f32":          {Metadata: meta},
		"bf16":         {Dtype: BF16, Metadata: meta},
		"f16":          {Dtype: F16, Metadata: meta, MaxShardBytes: 1 << 20}, // fits: one file
		"bf16_sharded": {Dtype: BF16, Metadata: meta, MaxShardBytes: 40_000},
		"f32_sharded":  {Dtype: F32, Metadata: meta, MaxShardBytes: 8_500}, // 3 shards, one oversized
	}
	type tensorJSON struct {
		Shape []int    `json:"shape"`
		Bits  []uint32 `json:"bits"`
	}
	type caseJSON struct {
		Dtype   Dtype `json:"dtype"`
		Sharded bool  `json:"sharded"`
	}
	in := struct {
		Metadata map[string]string     `json:"metadata"`
		Tensors  map[string]tensorJSON `json:"tensors"`
		Cases    map[string]caseJSON   `json:"cases"`
	}{meta, map[string]tensorJSON{}, map[string]caseJSON{}}
	for _, tn := range tensors {
		bits := make([]uint32, len(tn.Data))
		for i, v := range tn.Data {
			bits[i] = math.Float32bits(v)
		}
		in.Tensors[tn.Name] = tensorJSON{tn.Shape, bits}
	}
	for name, opt := range cases {
		if err := WriteCheckpoint(filepath.Join(dir, name), tensors, opt); err != nil {
			t.Fatal(err)
		}
		in.Cases[name] = caseJSON{orF32(opt.Dtype), strings.HasSuffix(name, "_sharded")}
	}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "inputs.json"), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Log(strings.TrimSpace(runRef(t, "check", dir)))
	for name, opt := range cases {
		checkReadBack(t, filepath.Join(dir, name), tensors, orF32(opt.Dtype))
	}
}

func orF32(d Dtype) Dtype {
	if d == "" {
		return F32
	}
	return d
}

// checkReadBack opens a Go-written checkpoint and checks each tensor reads
// back as its input rounded through dtype d.
func checkReadBack(t *testing.T, dir string, tensors []Tensor, d Dtype) {
	t.Helper()
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, tn := range tensors {
		got, err := c.ReadFloat32(tn.Name, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range tn.Data {
			want := v
			switch d {
			case BF16:
				want = BF16ToFloat32(Float32ToBF16(v))
			case F16:
				want = F16ToFloat32(Float32ToF16(v))
			}
			if !sameFloat(got[i], want) {
				t.Fatalf("%s: %s[%d] = %v, want %v", dir, tn.Name, i, got[i], want)
			}
		}
	}
}
