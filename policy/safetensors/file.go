package safetensors

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes tensors and metadata to path atomically: into a
// temporary file in the same directory, fsynced, renamed over path, and the
// directory fsynced, so a crash leaves either the old file or the new one.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) error {
	return writeAtomic(path, func(w io.Writer) error { return Write(w, tensors, metadata) })
}

// FileMode is the mode of every file written atomically. The temporary
// file starts as 0600; a model directory must be readable by the inference
// server that loads it (often another user or a container), like the
// files transformers' save_pretrained writes.
const FileMode os.FileMode = 0o644

// writeAtomic writes path through encode with WriteFile's guarantees: a
// temporary file in the same directory, fsynced, renamed over path, and
// the directory fsynced.
func writeAtomic(path string, encode func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if err = encode(bw); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err = f.Chmod(FileMode); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("safetensors: %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	return syncDir(dir)
}

// syncDir fsyncs a directory so a rename inside it is durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("safetensors: %s: fsync dir: %w", dir, err)
	}
	return nil
}

// ReadFile reads a safetensors file; errors name the path (and, from Read,
// the tensor).
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	tensors, meta, err := Read(bufio.NewReaderSize(f, 1<<20))
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return tensors, meta, nil
}

// WriteFileAtomic writes b to path through a temporary file renamed into
// place, so a reader never sees a partial file (the JSON files written
// beside weights, such as config.json).
func WriteFileAtomic(path string, b []byte) error {
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(b)
		return err
	})
}
