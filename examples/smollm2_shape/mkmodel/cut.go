package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// tokenizerFiles is a Hugging Face tokenizer as generic JSON, so that every
// field this program does not change is written back as it was read.
type tokenizerFiles struct {
	tok, cfg map[string]any
}

// cutTokenizer is a tokenizer cut to a vocabulary size.
type cutTokenizer struct {
	tokenizerFiles
	merges int
	added  map[string]int // added token content → new id
}

func readJSON(path string) (map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // model_max_length and the like stay as written
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func readTokenizer(dir string) (tokenizerFiles, error) {
	tok, err := readJSON(filepath.Join(dir, "tokenizer.json"))
	if err != nil {
		return tokenizerFiles{}, err
	}
	cfg, err := readJSON(filepath.Join(dir, "tokenizer_config.json"))
	if err != nil {
		return tokenizerFiles{}, err
	}
	return tokenizerFiles{tok: tok, cfg: cfg}, nil
}

// byteSymbols are the 256 characters GPT-2's byte-level pre-tokenizer maps
// the bytes to; a cut vocabulary must keep them all to encode any text.
func byteSymbols() []string {
	var out []string
	for b := 0; b < 256; b++ {
		switch {
		case b >= '!' && b <= '~', b >= 0xA1 && b <= 0xAC, b >= 0xAE:
			out = append(out, string(rune(b)))
		}
	}
	n := 0
	for b := 0; b < 256; b++ {
		if !(b >= '!' && b <= '~' || b >= 0xA1 && b <= 0xAC || b >= 0xAE) {
			out = append(out, string(rune(256+n)))
			n++
		}
	}
	return out
}

func asID(v any) (int, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("id %v is not a number", v)
	}
	id, err := strconv.Atoi(n.String())
	return id, err
}

// cut keeps the first vocab − len(added) regular tokens and the merges
// among them, and renumbers the added tokens above them.
func (f tokenizerFiles) cut(vocab int) (cutTokenizer, error) {
	model, _ := f.tok["model"].(map[string]any)
	if model == nil || model["type"] != "BPE" {
		return cutTokenizer{}, errors.New("tokenizer.json: model is not BPE")
	}
	words, _ := model["vocab"].(map[string]any)
	added, _ := f.tok["added_tokens"].([]any)
	keep := vocab - len(added)
	if keep <= 256 || len(words) < keep {
		return cutTokenizer{}, fmt.Errorf("tokenizer.json: %d regular and %d added tokens cannot fill a vocabulary of %d", len(words), len(added), vocab)
	}
	kept := map[string]any{}
	for w, v := range words {
		id, err := asID(v)
		if err != nil {
			return cutTokenizer{}, fmt.Errorf("tokenizer.json: model.vocab[%q]: %w", w, err)
		}
		if id < keep {
			kept[w] = v
		}
	}
	if len(kept) != keep {
		return cutTokenizer{}, fmt.Errorf("tokenizer.json: model.vocab ids below %d are not contiguous", keep)
	}
	for _, s := range byteSymbols() {
		if _, ok := kept[s]; !ok {
			return cutTokenizer{}, fmt.Errorf("tokenizer.json: byte symbol %q has an id of %d or more; not a byte-level BPE this program can cut", s, keep)
		}
	}
	merges, err := keptMerges(model["merges"], kept)
	if err != nil {
		return cutTokenizer{}, err
	}
	model["vocab"], model["merges"] = kept, merges
	newIDs, err := renumberAdded(added, keep)
	if err != nil {
		return cutTokenizer{}, err
	}
	if err := renumberDecoder(f.cfg, newIDs); err != nil {
		return cutTokenizer{}, err
	}
	return cutTokenizer{tokenizerFiles: f, merges: len(merges), added: newIDs}, nil
}

// keptMerges keeps the merges whose two parts and result are all kept, in
// their rank order; merges may be "a b" strings or [a, b] pairs.
func keptMerges(v any, kept map[string]any) ([]any, error) {
	list, _ := v.([]any)
	var out []any
	for i, m := range list {
		var a, b string
		switch m := m.(type) {
		case string:
			var ok bool
			if a, b, ok = strings.Cut(m, " "); !ok {
				return nil, fmt.Errorf("tokenizer.json: model.merges[%d] %q has no space", i, m)
			}
		case []any:
			if len(m) != 2 {
				return nil, fmt.Errorf("tokenizer.json: model.merges[%d] is not a pair", i)
			}
			a, _ = m[0].(string)
			b, _ = m[1].(string)
		default:
			return nil, fmt.Errorf("tokenizer.json: model.merges[%d] is neither a string nor a pair", i)
		}
		_, okA := kept[a]
		_, okB := kept[b]
		_, okAB := kept[a+b]
		if okA && okB && okAB {
			out = append(out, m)
		}
	}
	return out, nil
}

// renumberAdded moves the added tokens to ids keep, keep+1, … in their id
// order and returns content → new id.
func renumberAdded(added []any, keep int) (map[string]int, error) {
	type entry struct {
		m  map[string]any
		id int
	}
	es := make([]entry, len(added))
	for i, a := range added {
		m, _ := a.(map[string]any)
		id, err := asID(m["id"])
		if err != nil {
			return nil, fmt.Errorf("tokenizer.json: added_tokens[%d]: %w", i, err)
		}
		es[i] = entry{m, id}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].id < es[j].id })
	ids := map[string]int{}
	for i, e := range es {
		content, _ := e.m["content"].(string)
		e.m["id"] = json.Number(strconv.Itoa(keep + i))
		ids[content] = keep + i
	}
	return ids, nil
}

// renumberDecoder applies the new ids to tokenizer_config.json's
// added_tokens_decoder (keyed by id).
func renumberDecoder(cfg map[string]any, ids map[string]int) error {
	dec, _ := cfg["added_tokens_decoder"].(map[string]any)
	if dec == nil {
		return nil
	}
	out := map[string]any{}
	for key, v := range dec {
		m, _ := v.(map[string]any)
		content, _ := m["content"].(string)
		id, ok := ids[content]
		if !ok {
			return fmt.Errorf("tokenizer_config.json: added_tokens_decoder[%s] %q is not an added token of tokenizer.json", key, content)
		}
		out[strconv.Itoa(id)] = v
	}
	cfg["added_tokens_decoder"] = out
	return nil
}

// tokenContent reads a special token of tokenizer_config.json, written
// either as its text or as an AddedToken object.
func tokenContent(v any) string {
	if m, ok := v.(map[string]any); ok {
		v = m["content"]
	}
	s, _ := v.(string)
	return s
}

func (c cutTokenizer) write(dir string) error {
	for name, v := range map[string]map[string]any{"tokenizer.json": c.tok, "tokenizer_config.json": c.cfg} {
		raw, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		if err := safetensors.WriteFileAtomic(filepath.Join(dir, name), raw); err != nil {
			return err
		}
	}
	return nil
}

// setSpecialIDs points config.json's bos_token_id and eos_token_id at the
// tokenizer's bos and eos tokens.
func setSpecialIDs(path string, c cutTokenizer) error {
	conf, err := readJSON(path)
	if err != nil {
		return err
	}
	for key, cfgKey := range map[string]string{"bos_token_id": "bos_token", "eos_token_id": "eos_token"} {
		if id, ok := c.added[tokenContent(c.cfg[cfgKey])]; ok {
			conf[key] = id
		}
	}
	raw, err := json.MarshalIndent(conf, "", "  ")
	if err != nil {
		return err
	}
	return safetensors.WriteFileAtomic(path, raw)
}
