package safetensors

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestPlanShards checks the shard grouping against huggingface_hub's own
// expectations: the cases of tests/test_serialization.py
// (test_single_shard, test_multiple_shards: sizes [6, 10, 30, 2, 2]) and
// the documented example of transformers' shard_checkpoint ([6, 6, 2, 6, 2,
// 2] GB at 10 GB -> [6], [6+2], [6+2+2]).
func TestPlanShards(t *testing.T) {
	tests := []struct {
		name  string
		sizes []int64
		max   int64
		want  [][]int
	}{
		{"hub test_single_shard", []int64{6, 10, 30, 2, 2}, 100, [][]int{{0, 1, 2, 3, 4}}},
		{"hub test_multiple_shards: the oversized layer_3 is emitted at once", []int64{6, 10, 30, 2, 2}, 10, [][]int{{0}, {2}, {1}, {3, 4}}},
		{"transformers shard_checkpoint doc example", []int64{6, 6, 2, 6, 2, 2}, 10, [][]int{{0}, {1, 2}, {3, 4, 5}}},
		{"no limit means one shard", []int64{5, 5}, 0, [][]int{{0, 1}}},
		{"no tensors make one empty shard", nil, 4, [][]int{nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := planShards(tt.sizes, tt.max); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("planShards(%v, %d) = %v, want %v", tt.sizes, tt.max, got, tt.want)
			}
		})
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteCheckpointLayout(t *testing.T) {
	tensors := []Tensor{
		{Name: "z.weight", Shape: []int{4}, Data: []float32{1, 2, 3, 4}},         // 8 bytes in BF16
		{Name: "a.weight", Shape: []int{2, 2}, Data: []float32{-1, 0.5, 7, 1e9}}, // 8
		{Name: "m.bias", Shape: []int{2}, Data: []float32{3, 1}},                 // 4
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	opt := WriteOptions{Dtype: BF16, Metadata: map[string]string{"step": "3"}, MaxShardBytes: 12}
	if err := WriteCheckpoint(dir, tensors, opt); err != nil {
		t.Fatal(err)
	}
	want := []string{"config.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", IndexFileName}
	if got := listDir(t, dir); !slices.Equal(got, want) {
		t.Fatalf("directory = %v, want %v", got, want)
	}
	// An inference server running as another user must read the files.
	for _, name := range want[1:] {
		if st, err := os.Stat(filepath.Join(dir, name)); err != nil || st.Mode().Perm() != FileMode {
			t.Fatalf("%s: mode %v (%v), want %v", name, st.Mode().Perm(), err, FileMode)
		}
	}
	raw, err := os.ReadFile(filepath.Join(dir, IndexFileName))
	if err != nil {
		t.Fatal(err)
	}
	var idx struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	wantMap := map[string]string{"z.weight": "model-00001-of-00002.safetensors", "a.weight": "model-00002-of-00002.safetensors", "m.bias": "model-00002-of-00002.safetensors"}
	if idx.Metadata["total_size"] != 20 || len(idx.Metadata) != 1 || !reflect.DeepEqual(idx.WeightMap, wantMap) {
		t.Fatalf("index = %s", raw)
	}
	if !strings.HasPrefix(string(raw), "{\n  \"metadata\": {\n    \"total_size\": 20\n  },\n  \"weight_map\": {\n    \"a.weight\"") || !strings.HasSuffix(string(raw), "}\n") {
		t.Fatalf("index is not indented by 2 with sorted keys and a final newline:\n%s", raw)
	}
	// Within a shard, tensors are in name order (a.weight before m.bias).
	tens, meta, err := readAny(filepath.Join(dir, "model-00002-of-00002.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tens, []string{"a.weight", "m.bias"}) || !mapsEqual(meta, map[string]string{"format": "pt", "step": "3"}) {
		t.Fatalf("shard 2 holds %v with metadata %v", tens, meta)
	}

	// Rewriting unsharded removes the shards and the index, keeps config.
	if err := WriteCheckpoint(dir, tensors, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); !slices.Equal(got, []string{"config.json", SingleFileName}) {
		t.Fatalf("after an unsharded rewrite the directory = %v", got)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got, err := c.ReadFloat32("a.weight", nil); err != nil || !slices.Equal(got, tensors[1].Data) {
		t.Fatalf("F32 read back = %v, %v", got, err)
	}
	// And rewriting sharded again removes model.safetensors.
	if err := WriteCheckpoint(dir, tensors, opt); err != nil {
		t.Fatal(err)
	}
	if got := listDir(t, dir); slices.Contains(got, SingleFileName) || len(got) != 4 {
		t.Fatalf("after a sharded rewrite the directory = %v", got)
	}
}

func TestIndexEscapesNonASCIILikePython(t *testing.T) {
	// json.dumps({"k": "aß😀\u2028"}) == '{"k": "a\\u00df\\ud83d\\ude00\\u2028"}'
	got := string(asciiJSON([]byte(`{"k": "aß😀` + "\u2028" + `"}`)))
	if want := `{"k": "a\u00df\ud83d\ude00\u2028"}`; got != want {
		t.Fatalf("asciiJSON = %s, want %s", got, want)
	}
}

// readAny returns the tensor names, in data order, and metadata of any
// valid safetensors file.
func readAny(path string) ([]string, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	sf, names, _, err := parseFile(path, f, st.Size())
	if err != nil {
		return nil, nil, err
	}
	return names, sf.meta, nil
}

func TestWriteCheckpointRejects(t *testing.T) {
	good := []Tensor{{Name: "w", Shape: []int{1}, Data: []float32{1}}}
	tests := []struct {
		name    string
		tensors []Tensor
		opt     WriteOptions
		path    string // appended to the directory name
		want    string
	}{
		{"an unsupported dtype", good, WriteOptions{Dtype: F64}, "", `Dtype "F64" unsupported`},
		{"an unknown dtype", good, WriteOptions{Dtype: "F12"}, "", `Dtype "F12" unsupported`},
		{"a format other than pt", good, WriteOptions{Metadata: map[string]string{"format": "tf"}}, "", `format "tf"`},
		{"a duplicate name", append(good, good[0]), WriteOptions{}, "", `tensor 1 "w": duplicate name`},
		{"a file name instead of a directory", good, WriteOptions{}, ".safetensors", "not a file name"},
		{"data not filling the shape", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: []float32{1}}}, WriteOptions{}, "", "holds 4 values, data has 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused before writing", func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "ckpt"+tt.path)
			err := WriteCheckpoint(dir, tt.tensors, tt.opt)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("WriteCheckpoint = %v, want an error naming %s containing %q", err, dir, tt.want)
			}
			if tt.path == "" && !errors.Is(err, ErrFormat) {
				t.Fatalf("WriteCheckpoint error %v does not wrap ErrFormat", err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("WriteCheckpoint created %s before failing", dir)
			}
		})
	}
}

// TestWriteReadRoundTrip writes each dtype and reads it back through Open:
// F32 is exact, BF16 and F16 give the rounded values; shapes, names and
// metadata survive.
func TestWriteReadRoundTrip(t *testing.T) {
	for _, d := range []Dtype{F32, BF16, F16} {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			if err := WriteCheckpoint(dir, sample(), WriteOptions{Dtype: d, Metadata: map[string]string{"k": "<v>"}, MaxShardBytes: 8}); err != nil {
				t.Fatal(err)
			}
			checkReadBack(t, dir, sample(), d)
			c, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			for _, tn := range sample() {
				info, ok := c.Info(tn.Name)
				if !ok || info.Dtype != d || !slices.Equal(info.Shape, tn.Shape) {
					t.Errorf("Info(%q) = %+v, %v", tn.Name, info, ok)
				}
			}
			if m := c.Metadata(); m["k"] != "<v>" || m["format"] != "pt" || m["total_size"] == "" {
				t.Errorf("Metadata = %v", m)
			}
		})
	}
}
