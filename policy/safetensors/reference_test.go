package safetensors

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"reflect"
	"strings"
	"testing"
)

// loadVectors reads testdata/reference_vectors.txt (see its header).
func loadVectors(t testing.TB) map[string][]byte {
	t.Helper()
	f, err := os.Open("testdata/reference_vectors.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]byte{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hx, ok := strings.Cut(line, " ")
		b, err := hex.DecodeString(hx)
		if !ok || err != nil {
			t.Fatalf("reference_vectors.txt: bad line %q: %v", line, err)
		}
		out[name] = b
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestReferenceVectors checks that Write reproduces, byte for byte, files
// the reference implementation produced, and that Read decodes them.
func TestReferenceVectors(t *testing.T) {
	vectors := loadVectors(t)
	ramp := []float32{0, 1, 2, 3, 4, 5}
	tests := []struct {
		name    string
		tensors []Tensor
		meta    map[string]string
	}{
		{"one_tensor_no_padding", []Tensor{{Name: "attn.0", Shape: []int{1, 2, 3}, Data: ramp}}, nil},
		{"one_tensor_padded", []Tensor{{Name: "attn0", Shape: []int{1, 1, 2, 3}, Data: ramp}}, nil},
		{"empty", nil, nil},
		{"metadata_only", nil, map[string]string{"framework": "pt"}},
	}
	for _, tt := range tests {
		t.Run("the reference bytes of "+tt.name+" are reproduced and read back", func(t *testing.T) {
			want, ok := vectors[tt.name]
			if !ok {
				t.Fatalf("vector %q missing from testdata", tt.name)
			}
			var buf bytes.Buffer
			if err := Write(&buf, tt.tensors, tt.meta); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("Write bytes differ from the reference:\n got %q\nwant %q", buf.Bytes(), want)
			}
			got, meta, err := Read(bytes.NewReader(want))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.tensors) || (len(got) > 0 && !reflect.DeepEqual(got, tt.tensors)) {
				t.Fatalf("Read tensors = %+v, want %+v", got, tt.tensors)
			}
			if !reflect.DeepEqual(meta, tt.meta) {
				t.Fatalf("Read metadata = %v, want %v", meta, tt.meta)
			}
		})
	}
}
