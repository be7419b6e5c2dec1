package safetensors

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// WriteOptions configures WriteCheckpoint.
type WriteOptions struct {
	// Dtype stores every tensor as F32 (the default when empty), BF16 or
	// F16; conversions round to nearest even, as torch's .to() does.
	Dtype Dtype
	// Metadata is stored in every file's __metadata__ next to
	// "format": "pt", which transformers requires ("format" may only be
	// "pt" here).
	Metadata map[string]string
	// MaxShardBytes, when positive, splits the checkpoint into shards of
	// at most this many tensor bytes (a larger tensor gets a shard of its
	// own), as save_pretrained's max_shard_size does.
	MaxShardBytes int64
}

// shardPattern matches the shard names WriteCheckpoint writes, so a
// rewrite can remove shards left over from an earlier checkpoint.
var shardPattern = regexp.MustCompile(`^model-[0-9]{5}-of-[0-9]{5}\.safetensors$`)

// WriteCheckpoint writes tensors into directory dir (created if missing)
// in the layout transformers' save_pretrained produces: a single
// model.safetensors, or, when MaxShardBytes is positive and the tensors
// exceed it, model-00001-of-0000N.safetensors shards plus
// model.safetensors.index.json. Shards are filled in the order given;
// within a file tensors are sorted by name, as the reference writer sorts
// them. Each file is replaced atomically and the index is written after
// the shards; afterwards weight files of an earlier checkpoint in dir that
// the new one does not use (a stale single file, index or shard) are
// removed so Open(dir) cannot pick them up.
func WriteCheckpoint(dir string, tensors []Tensor, opt WriteOptions) error {
	if strings.HasSuffix(dir, ".safetensors") || strings.HasSuffix(dir, ".json") {
		return fmt.Errorf("safetensors: WriteCheckpoint %s: want the checkpoint directory, not a file name", dir)
	}
	d := opt.Dtype
	if d == "" {
		d = F32
	}
	if d != F32 && d != BF16 && d != F16 {
		return fmt.Errorf("%w: %s: WriteOptions.Dtype %q unsupported (F32, BF16 or F16)", ErrFormat, dir, string(d))
	}
	meta := map[string]string{"format": "pt"}
	for k, v := range opt.Metadata {
		if k == "format" && v != "pt" {
			return fmt.Errorf("%w: %s: WriteOptions.Metadata format %q: transformers loads only \"pt\" checkpoints here", ErrFormat, dir, v)
		}
		meta[k] = v
	}
	seen := make(map[string]struct{}, len(tensors))
	sizes := make([]int64, len(tensors))
	bits, _ := d.Bits()
	for i, t := range tensors {
		if err := checkTensor(t, seen); err != nil {
			return fmt.Errorf("%w: %s: tensor %d %q: %w", ErrFormat, dir, i, t.Name, err)
		}
		sizes[i] = int64(len(t.Data)) * bits / 8
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	shards := planShards(sizes, opt.MaxShardBytes)
	keep := map[string]bool{}
	weightMap := map[string]string{}
	for i, shard := range shards {
		name := SingleFileName
		if len(shards) > 1 {
			name = fmt.Sprintf("model-%05d-of-%05d.safetensors", i+1, len(shards))
		}
		keep[name] = true
		ts := make([]Tensor, len(shard))
		for j, k := range shard {
			ts[j] = tensors[k]
			weightMap[tensors[k].Name] = name
		}
		slices.SortFunc(ts, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
		path := filepath.Join(dir, name)
		if err := writeAtomic(path, func(w io.Writer) error { return writeAs(w, ts, d, meta) }); err != nil {
			return err
		}
	}
	if len(shards) > 1 {
		var total int64
		for _, s := range sizes {
			total += s
		}
		if err := writeIndex(filepath.Join(dir, IndexFileName), total, weightMap); err != nil {
			return err
		}
		keep[IndexFileName] = true
	}
	return removeStale(dir, keep)
}

// planShards groups tensor indices into shards of at most max bytes,
// following huggingface_hub's split_state_dict_into_shards: tensors are
// taken in order; one larger than max is emitted as a shard of its own at
// once; otherwise a tensor that would overflow the current shard closes
// it. With max <= 0 everything goes into one shard.
func planShards(sizes []int64, max int64) [][]int {
	if max <= 0 {
		all := make([]int, len(sizes))
		for i := range all {
			all[i] = i
		}
		return [][]int{all}
	}
	var shards [][]int
	var cur []int
	var curSize int64
	for i, s := range sizes {
		if s > max {
			shards = append(shards, []int{i})
			continue
		}
		if curSize+s > max {
			shards = append(shards, cur)
			cur, curSize = nil, 0
		}
		cur = append(cur, i)
		curSize += s
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	return shards
}

// writeIndex writes the index as transformers does: json.dumps with
// indent=2 and sorted keys, plus a final newline.
func writeIndex(path string, total int64, weightMap map[string]string) error {
	idx := struct {
		Metadata  map[string]int64  `json:"metadata"`
		WeightMap map[string]string `json:"weight_map"`
	}{map[string]int64{"total_size": total}, weightMap}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(idx); err != nil {
		return fmt.Errorf("safetensors: %s: %w", path, err)
	}
	text := asciiJSON(b.Bytes())
	return writeAtomic(path, func(w io.Writer) error {
		_, err := w.Write(text)
		return err
	})
}

// asciiJSON escapes every non-ASCII character of encoded JSON as \uXXXX
// (UTF-16 surrogate pairs beyond the BMP), as Python's json.dumps does by
// default, so a non-ASCII tensor name gives the same index bytes as
// save_pretrained. Non-ASCII bytes only occur inside JSON strings, where
// the escape means the same character.
func asciiJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	for _, r := range string(b) {
		if r < utf8.RuneSelf {
			out = append(out, byte(r))
			continue
		}
		for _, u := range utf16.Encode([]rune{r}) {
			out = fmt.Appendf(out, `\u%04x`, u)
		}
	}
	return out
}

// removeStale deletes dir's weight files (model.safetensors, the index,
// model-*-of-*.safetensors shards) that are not in keep.
func removeStale(dir string, keep map[string]bool) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	var errs []error
	for _, e := range entries {
		name := e.Name()
		weights := name == SingleFileName || name == IndexFileName || shardPattern.MatchString(name)
		if !weights || keep[name] || !e.Type().IsRegular() {
			continue
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("safetensors: remove stale %w", err))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return syncDir(dir)
}
