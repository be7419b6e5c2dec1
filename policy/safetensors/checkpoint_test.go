package safetensors

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeRaw writes a safetensors file from a raw header and data into dir.
func writeRaw(t testing.TB, dir, name, header string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, file(header, data), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestOpenRejectsCorruptFiles(t *testing.T) {
	entry := func(body string) string { return `{"w":` + body + `}` }
	tests := []struct {
		name string
		raw  []byte // the whole file
		want string
	}{
		{"a file shorter than the length prefix", []byte{1, 2, 3}, "shorter than the 8-byte length prefix"},
		{"a header length beyond the file", append(binary.LittleEndian.AppendUint64(nil, 64), "{}"...), "header length 64 runs past the end of the 10-byte file"},
		{"a header length beyond the 100 MB limit", binary.LittleEndian.AppendUint64(nil, MaxHeaderLen+1), "outside"},
		{"header JSON that does not parse", file(`{"w":{"dtype":`, nil), `tensor "w": unexpected EOF`},
		{"header JSON with a bad key", file(`{w:1}   `, nil), "header: invalid character"},
		{"a header that is not an object", file(`[1]     `, nil), "not a JSON object"},
		{"a header that is not UTF-8", file("{\"\xff\":1}", nil), "UTF-8"},
		{"a duplicated tensor name", file(`{"a":{"dtype":"U8","shape":[],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[],"data_offsets":[1,2]}}`, make([]byte, 2)), `"a" appears twice`},
		{"an unknown dtype", file(entry(`{"dtype":"Q7","shape":[1],"data_offsets":[0,1]}`), make([]byte, 1)), `tensor "w": unknown dtype "Q7"`},
		{"a missing dtype", file(entry(`{"shape":[1],"data_offsets":[0,1]}`), make([]byte, 1)), `tensor "w": unknown dtype ""`},
		{"an unknown field", file(entry(`{"dtype":"F32","shape":[],"data_offsets":[0,4],"stride":[1]}`), make([]byte, 4)), `unknown field "stride"`},
		{"data_offsets not matching BF16 x shape", file(entry(`{"dtype":"BF16","shape":[3],"data_offsets":[0,4]}`), make([]byte, 4)), `tensor "w": offsets [0, 4] do not hold shape [3] of BF16 (data_offsets must span 6 bytes)`},
		{"data_offsets not matching F64 x shape", file(entry(`{"dtype":"F64","shape":[2],"data_offsets":[0,8]}`), make([]byte, 8)), "must span 16 bytes"},
		{"overlapping data_offsets", file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[],"data_offsets":[2,4]}}`, make([]byte, 4)), `tensor "b": data starts at 2, want 4`},
		{"a gap between data_offsets", file(`{"a":{"dtype":"F16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[],"data_offsets":[4,6]}}`, make([]byte, 6)), `tensor "b": data starts at 4, want 2`},
		{"data_offsets past the end of the file", file(entry(`{"dtype":"BF16","shape":[4],"data_offsets":[0,8]}`), make([]byte, 6)), "data_offsets end at byte 8 of the data, but the file holds 6 data bytes"},
		{"bytes after the last tensor", file(entry(`{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}`), make([]byte, 4)), "data_offsets end at byte 2 of the data, but the file holds 4"},
		{"negative data_offsets", file(entry(`{"dtype":"U8","shape":[0],"data_offsets":[-1,-1]}`), nil), "data starts at -1"},
		{"a negative dimension", file(entry(`{"dtype":"BF16","shape":[-2],"data_offsets":[0,0]}`), nil), "negative"},
		{"a shape overflowing int64 bytes", file(entry(`{"dtype":"F64","shape":[3037000500,3037000500],"data_offsets":[0,0]}`), nil), "overflows"},
		{"an F4 tensor ending mid-byte", file(entry(`{"dtype":"F4","shape":[3],"data_offsets":[0,2]}`), make([]byte, 2)), "does not fill whole bytes"},
		{"metadata values that are not strings", file(`{"__metadata__":{"format":1}}`, nil), "must map strings to strings"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			path := filepath.Join(dir, "bad"+string(rune('a'+i))+".safetensors")
			if err := os.WriteFile(path, tt.raw, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Open(path)
			if err == nil {
				c.Close()
				t.Fatalf("Open accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) || !errors.Is(err, ErrFormat) {
				t.Fatalf("Open = %v\nwant an ErrFormat naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

// shardedDir writes a two-shard checkpoint by hand and returns its
// directory; index overrides the index file's contents when non-empty.
func shardedDir(t *testing.T, index string) string {
	t.Helper()
	dir := t.TempDir()
	writeRaw(t, dir, "model-00001-of-00002.safetensors",
		`{"__metadata__":{"format":"pt","shard":"1"},"a":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}`, []byte{0x80, 0x3F, 0x00, 0xC0})
	writeRaw(t, dir, "model-00002-of-00002.safetensors",
		`{"__metadata__":{"format":"pt","shard":"2"},"b":{"dtype":"F16","shape":[1],"data_offsets":[0,2]},"c":{"dtype":"I32","shape":[],"data_offsets":[2,6]}}`, []byte{0x00, 0x3C, 1, 0, 0, 0})
	if index == "" {
		index = `{"metadata":{"total_size":10,"note":{"x":[1, 2]}},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`
	}
	if err := os.WriteFile(filepath.Join(dir, IndexFileName), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenSharded(t *testing.T) {
	dir := shardedDir(t, "")
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.Names(); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Fatalf("Names = %v", got)
	}
	a, err := c.ReadFloat32("a", nil)
	if err != nil || !slices.Equal(a, []float32{1, -2}) {
		t.Fatalf("ReadFloat32(a) = %v, %v; want [1 -2]", a, err)
	}
	b, err := c.ReadFloat32("b", nil)
	if err != nil || !slices.Equal(b, []float32{1}) {
		t.Fatalf("ReadFloat32(b) = %v, %v; want [1]", b, err)
	}
	info, _ := c.Info("c")
	if info.Dtype != "I32" || info.File != filepath.Join(dir, "model-00002-of-00002.safetensors") || len(info.Shape) != 0 {
		t.Fatalf("Info(c) = %+v", info)
	}
	// The first shard's value wins among shards; the index's metadata
	// (non-strings as compact JSON) wins over both.
	want := map[string]string{"format": "pt", "shard": "1", "total_size": "10", "note": `{"x":[1,2]}`}
	if got := c.Metadata(); !mapsEqual(got, want) {
		t.Fatalf("Metadata = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestOpenRejectsBadIndexes(t *testing.T) {
	const s1, s2 = `"model-00001-of-00002.safetensors"`, `"model-00002-of-00002.safetensors"`
	tests := []struct {
		name  string
		index string
		want  string
	}{
		{"index JSON that does not parse", `{"weight_map":`, "unexpected EOF"},
		{"trailing data after the index", `{"weight_map":{"a":` + s1 + `}} {}`, "trailing data"},
		{"a missing weight_map", `{"metadata":{"total_size":1}}`, "weight_map is missing or empty"},
		{"a weight_map that is not an object of strings", `{"weight_map":{"a":1}}`, "weight_map"},
		{"a shard that does not exist", `{"weight_map":{"a":` + s1 + `,"b":` + s2 + `,"c":"model-00003-of-00003.safetensors"}}`, `weight_map names shard "model-00003-of-00003.safetensors", but`},
		{"a tensor its shard does not hold", `{"weight_map":{"a":` + s1 + `,"b":` + s2 + `,"c":` + s2 + `,"zz":` + s2 + `}}`, `tensor "zz" not found in its shard`},
		{"a tensor placed in the wrong shard", `{"weight_map":{"a":` + s2 + `,"b":` + s2 + `,"c":` + s2 + `}}`, `tensor "a" not found in its shard`},
		{"a shard path leaving the directory", `{"weight_map":{"a":"../model.safetensors"}}`, "not a relative path inside"},
		{"an absolute shard path", `{"weight_map":{"a":"/etc/passwd"}}`, "not a relative path inside"},
		{"one shard spelled two ways is still one shard", `{"weight_map":{"a":"./model-00001-of-00002.safetensors","b":` + s2 + `,"c":` + s2 + `,"q":` + s1 + `}}`, `tensor "q" not found in its shard`},
		{"the metadata key as a tensor name", `{"weight_map":{"__metadata__":` + s1 + `}}`, "invalid tensor name"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused", func(t *testing.T) {
			path := filepath.Join(shardedDir(t, tt.index), IndexFileName)
			c, err := Open(path)
			if err == nil {
				c.Close()
				t.Fatal("Open accepted it")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open = %v\nwant an error naming %s and containing %q", err, path, tt.want)
			}
		})
	}
}

func TestOpenRejectsBadShards(t *testing.T) {
	t.Run("a tensor in two shards is refused naming both", func(t *testing.T) {
		dir := shardedDir(t, `{"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`)
		writeRaw(t, dir, "model-00002-of-00002.safetensors", `{"a":{"dtype":"BF16","shape":[],"data_offsets":[0,2]},"b":{"dtype":"F16","shape":[],"data_offsets":[2,4]}}`, make([]byte, 4))
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), `tensor "a" is in both`) || !strings.Contains(err.Error(), "model-00001-of-00002") || !strings.Contains(err.Error(), "model-00002-of-00002") {
			t.Fatalf("Open = %v", err)
		}
	})
	t.Run("a corrupt shard is refused naming the shard", func(t *testing.T) {
		dir := shardedDir(t, "")
		bad := writeRaw(t, dir, "model-00002-of-00002.safetensors", `{"b":{"dtype":"F16","shape":[9],"data_offsets":[0,2]}}`, make([]byte, 2))
		_, err := Open(dir)
		if err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), `tensor "b"`) {
			t.Fatalf("Open = %v, want an error naming %s and tensor b", err, bad)
		}
	})
}

func TestOpenPaths(t *testing.T) {
	t.Run("a directory without weights is refused", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := Open(dir); err == nil || !strings.Contains(err.Error(), "neither model.safetensors nor model.safetensors.index.json") {
			t.Fatalf("Open = %v", err)
		}
	})
	t.Run("a missing path is refused", func(t *testing.T) {
		if _, err := Open(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("Open = %v, want ErrNotExist", err)
		}
	})
	t.Run("model.safetensors wins over the index in a directory", func(t *testing.T) {
		dir := shardedDir(t, "")
		writeRaw(t, dir, SingleFileName, `{"only":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`, make([]byte, 4))
		c, err := Open(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := c.Names(); !slices.Equal(got, []string{"only"}) {
			t.Fatalf("Names = %v, want [only]", got)
		}
	})
}

func TestReadFloat32(t *testing.T) {
	dir := t.TempDir()
	path := writeRaw(t, dir, "m.safetensors",
		`{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},"mask":{"dtype":"BOOL","shape":[2],"data_offsets":[8,10]},"w":{"dtype":"BF16","shape":[3],"data_offsets":[10,16]}}`,
		[]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0x80, 0x3F, 0x00, 0x40, 0x40, 0x40})
	c, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	t.Run("dst is reused when large enough", func(t *testing.T) {
		dst := make([]float32, 1, 8)
		got, err := c.ReadFloat32("w", dst)
		if err != nil || !slices.Equal(got, []float32{1, 2, 3}) || &got[0] != &dst[0] {
			t.Fatalf("ReadFloat32 = %v, %v (reused: %v)", got, err, err == nil && &got[0] == &dst[0])
		}
	})
	for _, tt := range []struct{ name, want string }{
		{"ids", `tensor "ids" has dtype I64`},
		{"mask", `tensor "mask" has dtype BOOL`},
		{"nope", `no tensor "nope"`},
	} {
		t.Run("reading "+tt.name+" is refused", func(t *testing.T) {
			_, err := c.ReadFloat32(tt.name, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ReadFloat32 = %v, want %q", err, tt.want)
			}
			if tt.name != "nope" && !strings.Contains(err.Error(), path) {
				t.Fatalf("error %v does not name %s", err, path)
			}
		})
	}
	t.Run("a file truncated after Open fails naming file and tensor", func(t *testing.T) {
		if err := os.Truncate(path, 8+int64(len(`{"ids":`))); err != nil {
			t.Fatal(err)
		}
		_, err := c.ReadFloat32("w", nil)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), `tensor "w"`) {
			t.Fatalf("ReadFloat32 = %v", err)
		}
	})
}

// FuzzOpen feeds arbitrary bytes to the file parser: it must never panic,
// and every float tensor of a file it accepts must read without error
// (the validated offsets lie inside the file).
func FuzzOpen(f *testing.F) {
	for _, v := range loadVectors(f) {
		f.Add(v)
	}
	var buf bytes.Buffer
	if err := writeAs(&buf, sample(), BF16, map[string]string{"format": "pt"}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add(file(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"I64","shape":[],"data_offsets":[4,12]},"e":{"dtype":"F64","shape":[0],"data_offsets":[12,12]}}`, make([]byte, 12)))
	f.Fuzz(func(t *testing.T, in []byte) {
		sf, names, entries, err := parseFile("fuzz", bytes.NewReader(in), int64(len(in)))
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		c := &Checkpoint{tensors: map[string]tensorLoc{}}
		if err := c.add(sf, names, entries); err != nil {
			t.Fatal(err)
		}
		c.finish(nil)
		for _, name := range c.Names() {
			info, _ := c.Info(name)
			if _, err := c.ReadFloat32(name, nil); (err == nil) != info.Dtype.IsFloat() {
				t.Fatalf("ReadFloat32(%q) of %s: %v", name, info.Dtype, err)
			}
		}
	})
}

// FuzzParseIndex checks the index parser never panics and that what it
// accepts names only local files, sorted and distinct.
func FuzzParseIndex(f *testing.F) {
	f.Add([]byte(`{"metadata":{"total_size":10},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00002-of-00002.safetensors"}}`))
	f.Add([]byte(`{"weight_map":{"a":"x/../y.safetensors"}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		idx, err := parseIndex("fuzz", in)
		if err != nil {
			return
		}
		if len(idx.files) == 0 || !slices.IsSorted(idx.files) || len(slices.Compact(slices.Clone(idx.files))) != len(idx.files) {
			t.Fatalf("files %v", idx.files)
		}
		for _, name := range idx.files {
			if !filepath.IsLocal(name) {
				t.Fatalf("accepted non-local %q", name)
			}
		}
	})
}

// BenchmarkReadFloat32BF16 reads a 32 MB BF16 tensor (16M values) into a
// reused float32 slice; MB/s counts the file bytes read.
func BenchmarkReadFloat32BF16(b *testing.B) {
	data := make([]float32, 16<<20)
	for i := range data {
		data[i] = float32(i%1000) * 0.001
	}
	dir := b.TempDir()
	if err := WriteCheckpoint(dir, []Tensor{{Name: "w", Shape: []int{4096, 4096}, Data: data}}, WriteOptions{Dtype: BF16}); err != nil {
		b.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	dst := make([]float32, len(data))
	b.SetBytes(2 * int64(len(data)))
	for b.Loop() {
		if dst, err = c.ReadFloat32("w", dst); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBF16 measures the BF16 to float32 conversion alone, on a
// 1 MiB chunk (the read buffer size); MB/s counts input bytes.
func BenchmarkDecodeBF16(b *testing.B) {
	buf := make([]byte, readChunk)
	out := make([]float32, len(buf)/2)
	b.SetBytes(int64(len(buf)))
	for b.Loop() {
		decode(BF16, out, buf)
	}
}

// TestConcurrentReads reads every tensor of one Checkpoint from several
// goroutines at once (run under -race): the pooled buffers and ReadAt must
// not interfere.
func TestConcurrentReads(t *testing.T) {
	dir := t.TempDir()
	tensors := goInputs()
	if err := WriteCheckpoint(dir, tensors, WriteOptions{Dtype: F16, MaxShardBytes: 30_000}); err != nil {
		t.Fatal(err)
	}
	c, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			for _, tn := range tensors {
				got, err := c.ReadFloat32(tn.Name, nil)
				if err != nil {
					errs <- err
					return
				}
				for i, v := range tn.Data {
					if want := F16ToFloat32(Float32ToF16(v)); !sameFloat(got[i], want) {
						errs <- fmt.Errorf("%s[%d] = %v, want %v", tn.Name, i, got[i], want)
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
