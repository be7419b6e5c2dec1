package safetensors

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// Names of a Hugging Face checkpoint's weight files, as transformers'
// save_pretrained writes them.
const (
	// SingleFileName is the weight file of an unsharded checkpoint.
	SingleFileName = "model.safetensors"
	// IndexFileName maps each tensor of a sharded checkpoint to its shard.
	IndexFileName = "model.safetensors.index.json"
)

// TensorInfo describes one tensor of a Checkpoint.
type TensorInfo struct {
	Name  string
	Dtype Dtype
	Shape []int
	// File is the path of the safetensors file holding the tensor, as
	// opened (the checkpoint directory joined with the file name).
	File string
}

// Checkpoint is an open safetensors file, or a sharded set of them tied
// together by an index, whose tensors are read one at a time on demand so
// memory use stays at one tensor however large the checkpoint. It is safe
// for concurrent use; Close releases the files.
type Checkpoint struct {
	files   []*shardFile
	tensors map[string]tensorLoc
	names   []string // sorted
	meta    map[string]string
}

// shardFile is one open safetensors file.
type shardFile struct {
	path      string
	r         io.ReaderAt
	closer    io.Closer // nil when r is not owned (tests, fuzzing)
	dataStart int64     // 8 + header length
	meta      map[string]string
}

// tensorLoc is where a tensor's bytes are: [begin, end) in file.
type tensorLoc struct {
	info       TensorInfo
	file       *shardFile
	begin, end int64
}

// Open opens a checkpoint. path is a .safetensors file, a
// model.safetensors.index.json, or a directory holding either; in a
// directory model.safetensors wins over the index, as in transformers.
// Every header is read and validated now (errors name the file, the tensor
// and the field at fault); tensor data is read by ReadFloat32.
func Open(path string) (*Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if st.IsDir() {
		single := filepath.Join(path, SingleFileName)
		index := filepath.Join(path, IndexFileName)
		switch {
		case isFile(single):
			path = single
		case isFile(index):
			path = index
		default:
			return nil, fmt.Errorf("safetensors: %s: directory holds neither %s nor %s", path, SingleFileName, IndexFileName)
		}
	}
	if strings.HasSuffix(path, ".json") {
		return openIndex(path)
	}
	c := &Checkpoint{tensors: map[string]tensorLoc{}}
	if err := c.openShard(path); err != nil {
		return nil, err
	}
	c.finish(nil)
	return c, nil
}

// isFile reports whether path is a regular file, following symlinks (the
// hub cache links snapshot files to blobs).
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// openShard opens and validates one safetensors file and adds its
// tensors to c, which owns the file from then on.
func (c *Checkpoint) openShard(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("safetensors: %w", err)
	}
	sf, names, entries, err := parseFile(path, f, st.Size())
	if err != nil {
		f.Close()
		return err
	}
	sf.closer = f
	return c.add(sf, names, entries)
}

// add records sf's tensors, refusing a name another file already holds.
func (c *Checkpoint) add(sf *shardFile, names []string, entries []headerEntry) error {
	c.files = append(c.files, sf)
	for i, name := range names {
		if prev, dup := c.tensors[name]; dup {
			return fmt.Errorf("%w: tensor %q is in both %s and %s", ErrFormat, name, prev.file.path, sf.path)
		}
		e := entries[i]
		c.tensors[name] = tensorLoc{
			info:  TensorInfo{Name: name, Dtype: Dtype(e.Dtype), Shape: e.Shape, File: sf.path},
			file:  sf,
			begin: sf.dataStart + e.DataOffsets[0],
			end:   sf.dataStart + e.DataOffsets[1],
		}
	}
	return nil
}

// finish sorts the names and merges the metadata: each file's
// __metadata__ in file order (the first file to set a key wins), then
// indexMeta over it.
func (c *Checkpoint) finish(indexMeta map[string]string) {
	c.names = make([]string, 0, len(c.tensors))
	for name := range c.tensors {
		c.names = append(c.names, name)
	}
	slices.Sort(c.names)
	c.meta = map[string]string{}
	for _, sf := range c.files {
		for k, v := range sf.meta {
			if _, ok := c.meta[k]; !ok {
				c.meta[k] = v
			}
		}
	}
	for k, v := range indexMeta {
		c.meta[k] = v
	}
}

// parseFile reads and validates the header of the safetensors file path,
// of size bytes, read through r: the header length must fit in the file,
// the header be a UTF-8 JSON object, every dtype known, and the data_offsets
// tile the data after the header exactly. Names and entries come back in
// data order.
func parseFile(path string, r io.ReaderAt, size int64) (*shardFile, []string, []headerEntry, error) {
	fail := func(format string, args ...any) (*shardFile, []string, []headerEntry, error) {
		return nil, nil, nil, fmt.Errorf("%w: %s: "+format, append([]any{ErrFormat, path}, args...)...)
	}
	var prefix [8]byte
	if _, err := r.ReadAt(prefix[:], 0); err != nil {
		return fail("header length: file is %d bytes, shorter than the 8-byte length prefix", size)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n < 2 || n > MaxHeaderLen {
		return fail("header length %d outside [2, %d]", n, MaxHeaderLen)
	}
	if int64(n) > size-8 {
		return fail("header length %d runs past the end of the %d-byte file", n, size)
	}
	header := make([]byte, n)
	if _, err := r.ReadAt(header, 8); err != nil {
		return fail("read header: %v", err)
	}
	if !utf8.Valid(header) {
		return fail("header is not valid UTF-8")
	}
	names, entries, meta, err := parseHeader(header, knownDtype)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	total, err := checkLayout(names, entries)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	dataStart := 8 + int64(n)
	if total != size-dataStart {
		return fail("data_offsets end at byte %d of the data, but the file holds %d data bytes", total, size-dataStart)
	}
	return &shardFile{path: path, r: r, dataStart: dataStart, meta: meta}, names, entries, nil
}

// Names returns the tensor names in sorted order (a fresh slice).
func (c *Checkpoint) Names() []string { return slices.Clone(c.names) }

// Info describes the named tensor; ok is false when there is none.
func (c *Checkpoint) Info(name string) (info TensorInfo, ok bool) {
	loc, ok := c.tensors[name]
	if !ok {
		return TensorInfo{}, false
	}
	info = loc.info
	info.Shape = slices.Clone(info.Shape)
	return info, true
}

// Metadata returns the merged string metadata: the files' __metadata__
// and, for a sharded checkpoint, the index's "metadata" object (numbers
// and other non-strings as their JSON text, e.g. total_size "1234"), which
// wins on a clash. The map is a copy.
func (c *Checkpoint) Metadata() map[string]string {
	out := make(map[string]string, len(c.meta))
	for k, v := range c.meta {
		out[k] = v
	}
	return out
}

// Close closes every file; the Checkpoint must not be used afterwards.
func (c *Checkpoint) Close() error {
	var errs []error
	for _, sf := range c.files {
		if sf.closer != nil {
			if err := sf.closer.Close(); err != nil && !errors.Is(err, fs.ErrClosed) {
				errs = append(errs, fmt.Errorf("safetensors: %s: %w", sf.path, err))
			}
		}
	}
	return errors.Join(errs...)
}
