package hftok

import (
	"encoding/json"
	"fmt"
	"math"
)

// parseTokenizer reads tokenizer.json.
func parseTokenizer(data []byte) (*Tokenizer, error) {
	root := object{file: TokenizerFile}
	if err := json.Unmarshal(data, &root.m); err != nil || root.m == nil {
		if err == nil {
			err = fmt.Errorf("not an object")
		}
		return nil, fmt.Errorf("%s: invalid JSON: %v", TokenizerFile, err)
	}
	for _, k := range []string{"truncation", "padding"} {
		if !isNull(root.m[k]) {
			return nil, root.errorf(k, "not supported (must be null)")
		}
	}
	t := &Tokenizer{}
	if err := parseOptional(root, "normalizer", &t.norm, parseNormalizer); err != nil {
		return nil, err
	}
	if err := parseOptional(root, "pre_tokenizer", &t.steps, func(o object) ([]preStep, error) { return parsePreTokenizer(o, nil) }); err != nil {
		return nil, err
	}
	byteLevel := len(t.steps) > 0 && t.steps[len(t.steps)-1].kind == "ByteLevel"
	t.name = "hf-bpe-sentencepiece"
	if byteLevel {
		t.name = "hf-bpe-bytelevel"
	}
	if err := parseOptional(root, "post_processor", &t.tmpl, parsePostProcessor); err != nil {
		return nil, err
	}
	if err := parseOptional(root, "decoder", &t.dec, parseDecoder); err != nil {
		return nil, err
	}
	mo, ok, err := root.sub("model")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, root.errorf("model", "missing")
	}
	if t.model, err = parseModel(mo, byteLevel); err != nil {
		return nil, err
	}
	if err := t.readAdded(root); err != nil {
		return nil, err
	}
	t.index()
	return t, nil
}

// parseOptional sets *dst to parse of root's object key, when present and
// not null; an absent component leaves *dst as it is.
func parseOptional[T any](root object, key string, dst *T, parse func(object) (T, error)) error {
	o, ok, err := root.sub(key)
	if err != nil || !ok {
		return err
	}
	v, err := parse(o)
	if err != nil {
		return err
	}
	*dst = v
	return nil
}

// readAdded reads added_tokens the way the Rust deserializer does: the
// "id" fields are ignored (Rust only warns on a mismatch); a token keeps the
// id its content already has (as an added token or in model.vocab), else it
// takes the next id from len(model.vocab) on. A repeated content replaces
// the earlier entry's options.
func (t *Tokenizer) readAdded(root object) error {
	t.byContent = map[string]int32{}
	t.byID = map[int32]*addedToken{}
	t.normCache = map[int32]string{}
	t.specials = map[string]bool{}
	if isNull(root.m["added_tokens"]) {
		return nil
	}
	items, err := root.list("added_tokens")
	if err != nil {
		return err
	}
	next := int32(len(t.model.vocab))
	for _, it := range items {
		if id, err := it.integer("id", -1); err != nil {
			return err
		} else if id < 0 || id > math.MaxInt32-1 {
			return it.errorf("id", "missing or out of range")
		}
		a := &addedToken{}
		if a.content, err = it.str("content", ""); err != nil {
			return err
		}
		for _, f := range []struct {
			key string
			dst *bool
		}{{"single_word", &a.singleWord}, {"lstrip", &a.lstrip}, {"rstrip", &a.rstrip},
			{"normalized", &a.normalized}, {"special", &a.special}} {
			if *f.dst, err = it.boolean(f.key, false); err != nil {
				return err
			}
		}
		if a.content == "" {
			continue // ignored by Rust
		}
		if id, ok := t.byContent[a.content]; ok {
			a.id = id
		} else if id, ok := t.model.vocab[a.content]; ok {
			a.id = id
		} else {
			a.id = next
			next++
		}
		if a.normalized && t.norm != nil {
			if n := t.norm.apply(a.content); n != a.content {
				t.normCache[a.id] = n
			}
		}
		t.byContent[a.content] = a.id
		t.byID[a.id] = a
		if a.special {
			t.specials[a.content] = true
		}
	}
	return nil
}

// index builds the id table and the added-token matchers.
func (t *Tokenizer) index() {
	var raw, normd []pattern
	for id, a := range t.byID {
		t.size = max(t.size, int(id)+1)
		if !a.normalized {
			raw = append(raw, pattern{a.content, a})
		} else if n, ok := t.normCache[id]; ok {
			normd = append(normd, pattern{n, a})
		} else {
			normd = append(normd, pattern{a.content, a})
		}
	}
	t.raw, t.normd = newMatcher(raw), newMatcher(normd)
	for _, id := range t.model.vocab {
		t.size = max(t.size, int(id)+1)
	}
	t.idToken = make([]string, t.size)
	for tok, id := range t.model.vocab {
		t.idToken[id] = tok
	}
}

// config holds what this package uses from tokenizer_config.json.
type config struct {
	bos, eos, pad, unk string
	addBOS, addEOS     bool
	maxLen             int
}

// parseConfig reads tokenizer_config.json. Special tokens may be strings,
// {"content": ...} objects (AddedToken serialisation) or null.
func parseConfig(data []byte) (config, error) {
	var c config
	root := object{file: ConfigFile}
	if err := json.Unmarshal(data, &root.m); err != nil || root.m == nil {
		if err == nil {
			err = fmt.Errorf("not an object")
		}
		return c, fmt.Errorf("%s: invalid JSON: %v", ConfigFile, err)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{{"bos_token", &c.bos}, {"eos_token", &c.eos}, {"pad_token", &c.pad}, {"unk_token", &c.unk}} {
		raw := root.m[f.key]
		if isNull(raw) {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err == nil {
			continue
		}
		o, _, err := root.asObject(f.key, raw)
		if err != nil {
			return c, root.errorf(f.key, "is neither a string nor an object with content")
		}
		if *f.dst, err = o.str("content", ""); err != nil {
			return c, err
		}
	}
	var err error
	if c.addBOS, err = root.boolean("add_bos_token", false); err != nil {
		return c, err
	}
	if c.addEOS, err = root.boolean("add_eos_token", false); err != nil {
		return c, err
	}
	if raw := root.m["model_max_length"]; !isNull(raw) {
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil || f < 0 {
			return c, root.errorf("model_max_length", "is not a non-negative number")
		}
		// transformers writes int(1e30) for "no limit".
		if f < 1e18 {
			c.maxLen = int(f)
		}
	}
	return c, nil
}
