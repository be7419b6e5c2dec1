package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// sample returns tensors covering a matrix, a scalar, an empty tensor and
// awkward float values.
func sample() []Tensor {
	return []Tensor{
		{Name: "wte", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, float32(math.Inf(1)), float32(math.Copysign(0, -1)), 1e-45}},
		{Name: "scale", Shape: []int{}, Data: []float32{0.25}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		{Name: "h.0.attn<q>", Shape: []int{3}, Data: []float32{7, 8, 9}},
	}
}

// TestWriteLayout decodes Write's output by hand, following the spec, and
// checks every part of it.
func TestWriteLayout(t *testing.T) {
	tensors := sample()
	meta := map[string]string{"format": "pt", "tokenizer": `{"specials":["<pad>"]}`}
	var buf bytes.Buffer
	if err := Write(&buf, tensors, meta); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	n := binary.LittleEndian.Uint64(raw[:8])
	if n%8 != 0 {
		t.Fatalf("header length %d is not a multiple of 8", n)
	}
	header := raw[8 : 8+n]
	trimmed := bytes.TrimRight(header, " ")
	if len(header)-len(trimmed) >= 8 {
		t.Fatalf("header has %d padding spaces, want < 8", len(header)-len(trimmed))
	}
	if bytes.Contains(header, []byte(`\u003c`)) {
		t.Fatalf("header escapes '<' instead of storing it verbatim: %s", header)
	}
	var parsed map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &parsed); err != nil {
		t.Fatalf("header is not JSON: %v\n%s", err, header)
	}
	var gotMeta map[string]string
	if err := json.Unmarshal(parsed["__metadata__"], &gotMeta); err != nil || !reflect.DeepEqual(gotMeta, meta) {
		t.Fatalf("__metadata__ = %s (%v), want %v", parsed["__metadata__"], err, meta)
	}
	if len(parsed) != len(tensors)+1 {
		t.Fatalf("header has %d keys, want %d", len(parsed), len(tensors)+1)
	}
	data := raw[8+n:]
	var off int64
	for _, tn := range tensors {
		var e struct {
			Dtype       string   `json:"dtype"`
			Shape       []int    `json:"shape"`
			DataOffsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(parsed[tn.Name], &e); err != nil {
			t.Fatalf("tensor %q: %v", tn.Name, err)
		}
		if e.Dtype != "F32" || !reflect.DeepEqual(e.Shape, tn.Shape) {
			t.Errorf("tensor %q: dtype %s shape %v, want F32 %v", tn.Name, e.Dtype, e.Shape, tn.Shape)
		}
		if e.DataOffsets != [2]int64{off, off + 4*int64(len(tn.Data))} {
			t.Errorf("tensor %q: offsets %v, want [%d %d] (contiguous, in written order)", tn.Name, e.DataOffsets, off, off+4*int64(len(tn.Data)))
		}
		for i, v := range tn.Data {
			if got := binary.LittleEndian.Uint32(data[off+4*int64(i):]); got != math.Float32bits(v) {
				t.Errorf("tensor %q[%d]: bytes %08x, want %08x", tn.Name, i, got, math.Float32bits(v))
			}
		}
		off = e.DataOffsets[1]
	}
	if int64(len(data)) != off {
		t.Fatalf("data is %d bytes, tensors end at %d", len(data), off)
	}
}

func TestRoundTripThroughFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	meta := map[string]string{"step": "120"}
	for round := range 2 { // the second write replaces the first
		if err := WriteFile(path, sample(), meta); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	got, gotMeta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := sample()
	for i := range want {
		if got[i].Name != want[i].Name || !reflect.DeepEqual(got[i].Shape, want[i].Shape) ||
			!bitsEqual(got[i].Data, want[i].Data) {
			t.Errorf("tensor %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if !reflect.DeepEqual(gotMeta, meta) {
		t.Errorf("metadata = %v, want %v", gotMeta, meta)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after WriteFile, want only the file (no temp files)", len(entries))
	}
}

func bitsEqual(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func TestWriteRejectsBadTensors(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    string
	}{
		{"a duplicate name is refused", []Tensor{{Name: "a", Data: []float32{1}}, {Name: "a", Data: []float32{2}}}, "duplicate"},
		{"an empty name is refused", []Tensor{{Name: "", Data: []float32{1}}}, "invalid name"},
		{"the metadata key is not a tensor name", []Tensor{{Name: "__metadata__", Data: []float32{1}}}, "invalid name"},
		{"data must fill the shape", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1, 2, 3}}}, "holds 4 values"},
		{"a negative dimension is refused", []Tensor{{Name: "w", Shape: []int{-1}, Data: nil}}, "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.tensors, nil)
			if !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write = %v, want ErrFormat containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatalf("Write wrote %d bytes before failing", buf.Len())
			}
		})
	}
}

// file assembles a safetensors stream from a raw header and data.
func file(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	return append(append(out, header...), data...)
}

func TestReadRejectsMalformedFiles(t *testing.T) {
	f4 := make([]byte, 4)
	f8 := make([]byte, 8)
	entry := func(name, body string) string { return `{"` + name + `":` + body + `}` }
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"an empty stream", nil, "header length"},
		{"a header length past the 100 MB limit", binary.LittleEndian.AppendUint64(nil, MaxHeaderLen+1), "outside"},
		{"a header shorter than claimed", append(binary.LittleEndian.AppendUint64(nil, 64), "{}"...), "truncated"},
		{"a header that is not an object", file("[1]     ", nil), "not a JSON object"},
		{"a header that is not JSON", file("{x       ", nil), "header"},
		{"a header that is not UTF-8", file("{\"\xff\":1}", nil), "UTF-8"},
		{"junk after the header object", file("{} x    ", nil), "trailing"},
		{"an empty tensor name", file(entry("", `{"dtype":"F32","shape":[],"data_offsets":[0,4]}`), f4), "empty name"},
		{"an unsupported dtype names the tensor", file(entry("w", `{"dtype":"F16","shape":[2],"data_offsets":[0,4]}`), f4), `"w": dtype "F16" unsupported`},
		{"a duplicated tensor name", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f8), `"a" appears twice`},
		{"a gap between tensors", file(`{"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[],"data_offsets":[8,12]}}`, make([]byte, 12)), `"b": data starts at 8, want 4`},
		{"overlapping tensors", file(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[],"data_offsets":[4,8]}}`, f8), "contiguous"},
		{"offsets that disagree with the shape", file(entry("w", `{"dtype":"F32","shape":[3],"data_offsets":[0,8]}`), f8), `"w": offsets [0, 8] do not hold shape [3]`},
		{"reversed offsets", file(entry("w", `{"dtype":"F32","shape":[],"data_offsets":[4,0]}`), nil), "data starts at 4"},
		{"a negative dimension", file(entry("w", `{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}`), nil), "negative"},
		{"a shape whose product overflows", file(entry("w", `{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,0]}`), nil), "overflows"},
		{"an unknown field in a tensor entry", file(entry("w", `{"dtype":"F32","shape":[],"data_offsets":[0,4],"x":1}`), f4), "unknown field"},
		{"metadata values that are not strings", file(`{"__metadata__":{"a":1}}`, nil), "must map strings to strings"},
		{"data missing at the end", file(entry("w", `{"dtype":"F32","shape":[2],"data_offsets":[0,8]}`), f4), `"w": data truncated: 1 of 2 values`},
		{"data continuing past the last tensor", file(entry("w", `{"dtype":"F32","shape":[],"data_offsets":[0,4]}`), f8), "past the last tensor"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			_, _, err := Read(bytes.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %v, want an error containing %q", err, tt.want)
			}
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("Read error %v does not wrap ErrFormat", err)
			}
		})
	}
}

func TestReadAcceptsAnyJSONWhitespacePadding(t *testing.T) {
	_, meta, err := Read(bytes.NewReader(file("{}\r \t\n", nil)))
	if err != nil || meta != nil {
		t.Fatalf("Read = %v, %v; want no error and no metadata", meta, err)
	}
}

func TestReadFileErrorsNameThePath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.safetensors")
	if err := os.WriteFile(path, file(`{"w":{"dtype":"BF16","shape":[],"data_offsets":[0,2]}}`, []byte{0, 0}), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := ReadFile(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `"w"`) {
		t.Fatalf("ReadFile = %v; want an error naming %s and tensor \"w\"", err, path)
	}
}

// TestHostileLengthsAllocateLittle feeds headers that claim far more bytes
// than the stream holds and checks Read's allocations stay small.
func TestHostileLengthsAllocateLittle(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
	}{
		{"a header length at the limit with a tiny header", append(binary.LittleEndian.AppendUint64(nil, MaxHeaderLen), "{}"...)},
		{"a tensor claiming 16 GB with 8 bytes of data", file(`{"w":{"dtype":"F32","shape":[4000000000],"data_offsets":[0,16000000000]}}`, make([]byte, 8))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, _, err := Read(bytes.NewReader(tt.in))
			runtime.ReadMemStats(&after)
			if err == nil {
				t.Fatal("Read accepted a truncated file")
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
				t.Fatalf("Read allocated %d bytes for a %d-byte input", grew, len(tt.in))
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v)
	}
	var buf bytes.Buffer
	if err := Write(&buf, sample(), map[string]string{"k": "v"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(file(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Fuzz(func(t *testing.T, in []byte) {
		tensors, meta, err := Read(bytes.NewReader(in))
		if err != nil {
			return
		}
		// Whatever Read accepts, Write must re-encode and Read must return
		// unchanged.
		var out bytes.Buffer
		if err := Write(&out, tensors, meta); err != nil {
			t.Fatalf("Write rejected what Read accepted: %v", err)
		}
		again, meta2, err := Read(&out)
		if err != nil {
			t.Fatalf("Read of re-encoded file: %v", err)
		}
		if len(meta) > 0 && !reflect.DeepEqual(meta, meta2) {
			t.Fatalf("metadata changed: %v -> %v", meta, meta2)
		}
		if len(again) != len(tensors) {
			t.Fatalf("%d tensors became %d", len(tensors), len(again))
		}
		for i := range again {
			if again[i].Name != tensors[i].Name || !reflect.DeepEqual(again[i].Shape, tensors[i].Shape) || !bitsEqual(again[i].Data, tensors[i].Data) {
				t.Fatalf("tensor %d changed in a round trip", i)
			}
		}
	})
}

func benchTensors() []Tensor {
	data := make([]float32, 1<<20)
	for i := range data {
		data[i] = float32(i) * 0.5
	}
	return []Tensor{{Name: "w", Shape: []int{1024, 1024}, Data: data}}
}

func BenchmarkWrite(b *testing.B) {
	ts := benchTensors()
	b.SetBytes(4 << 20)
	for b.Loop() {
		if err := Write(discard{}, ts, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	var buf bytes.Buffer
	if err := Write(&buf, benchTensors(), nil); err != nil {
		b.Fatal(err)
	}
	raw := buf.Bytes()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, _, err := Read(bytes.NewReader(raw)); err != nil {
			b.Fatal(err)
		}
	}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
