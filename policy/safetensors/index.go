package safetensors

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
)

// indexFile is the JSON layout of model.safetensors.index.json.
type indexFile struct {
	Metadata  map[string]json.RawMessage `json:"metadata"`
	WeightMap map[string]string          `json:"weight_map"`
}

// parsedIndex is a validated index: string metadata, the weight map, and
// the distinct shard file names in sorted order.
type parsedIndex struct {
	meta      map[string]string
	weightMap map[string]string
	files     []string
}

// parseIndex validates an index file's bytes; path only names it in
// errors. The weight map must be non-empty and every file name in it a
// plain relative path inside the checkpoint directory.
func parseIndex(path string, data []byte) (*parsedIndex, error) {
	var idx indexFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrFormat, path, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s: trailing data after the JSON object", ErrFormat, path)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%w: %s: weight_map is missing or empty", ErrFormat, path)
	}
	p := &parsedIndex{meta: map[string]string{}, weightMap: make(map[string]string, len(idx.WeightMap))}
	for k, raw := range idx.Metadata {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			p.meta[k] = s
			continue
		}
		var b bytes.Buffer
		if err := json.Compact(&b, raw); err != nil {
			return nil, fmt.Errorf("%w: %s: metadata %q: %w", ErrFormat, path, k, err)
		}
		p.meta[k] = b.String()
	}
	seen := map[string]bool{}
	for name, file := range idx.WeightMap {
		if name == "" || name == metadataKey {
			return nil, fmt.Errorf("%w: %s: weight_map has an invalid tensor name %q", ErrFormat, path, name)
		}
		if !filepath.IsLocal(file) {
			return nil, fmt.Errorf("%w: %s: weight_map: tensor %q: file %q is not a relative path inside the checkpoint directory", ErrFormat, path, name, file)
		}
		// "./a" and "a" are one shard, not two holding the same tensors.
		file = filepath.Clean(file)
		p.weightMap[name] = file
		if !seen[file] {
			seen[file] = true
			p.files = append(p.files, file)
		}
	}
	slices.Sort(p.files)
	return p, nil
}

// openIndex opens the shards an index names and checks that each tensor
// of the weight map is in the shard the map names and in no other.
// Tensors a shard holds beyond the weight map are kept (the file is the
// authority on what it holds), but still may not be duplicated.
func openIndex(path string) (*Checkpoint, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	idx, err := parseIndex(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	c := &Checkpoint{tensors: map[string]tensorLoc{}}
	for _, file := range idx.files {
		shard := filepath.Join(dir, file)
		if !isFile(shard) {
			c.Close()
			return nil, fmt.Errorf("%w: %s: weight_map names shard %q, but %s does not exist", ErrFormat, path, file, shard)
		}
		if err := c.openShard(shard); err != nil {
			c.Close()
			return nil, err
		}
	}
	names := make([]string, 0, len(idx.weightMap))
	for name := range idx.weightMap {
		names = append(names, name)
	}
	slices.Sort(names) // report the first missing tensor deterministically
	for _, name := range names {
		shard := filepath.Join(dir, idx.weightMap[name])
		if loc, ok := c.tensors[name]; !ok || loc.file.path != shard {
			c.Close()
			return nil, fmt.Errorf("%w: %s: weight_map: tensor %q not found in its shard %s", ErrFormat, path, name, shard)
		}
	}
	c.finish(idx.meta)
	return c, nil
}
