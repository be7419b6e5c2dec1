package hftok

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
)

func parseTemplate(o object) (template, error) {
	items, err := o.list("single")
	if err != nil {
		return nil, err
	}
	specials, ok, err := o.sub("special_tokens")
	if err != nil {
		return nil, err
	}
	var out template
	for i, it := range items {
		if seq, ok, err := it.sub("Sequence"); err != nil {
			return nil, err
		} else if ok {
			if id, err := seq.str("id", ""); err != nil {
				return nil, err
			} else if id != "A" {
				return nil, seq.errorf("id", "%q not supported in single", id)
			}
			out = append(out, templatePiece{seq: true})
			continue
		}
		sp, isSpecial, err := it.sub("SpecialToken")
		if err != nil {
			return nil, err
		}
		if !isSpecial {
			return nil, o.errorf(fmt.Sprintf("single[%d]", i), "is neither Sequence nor SpecialToken")
		}
		name, err := sp.str("id", "")
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, o.errorf("special_tokens", "missing")
		}
		entry, found, err := specials.sub(name)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, specials.errorf(name, "missing (used by single[%d])", i)
		}
		var ids []int32
		if err := json.Unmarshal(entry.m["ids"], &ids); err != nil || len(ids) == 0 {
			return nil, entry.errorf("ids", "is not a non-empty array of ids")
		}
		out = append(out, templatePiece{ids: ids})
	}
	if out == nil {
		out = template{{seq: true}}
	}
	return out, nil
}

// parseModel reads model: a BPE with the options this package implements.
func parseModel(o object, byteLevel bool) (*bpe, error) {
	t, err := o.typ()
	if err != nil {
		return nil, err
	}
	if t != "BPE" {
		return nil, o.unsupported(t)
	}
	if d := o.m["dropout"]; !isNull(d) && strings.TrimSpace(string(d)) != "0" && strings.TrimSpace(string(d)) != "0.0" {
		return nil, o.errorf("dropout", "%s not supported (BPE dropout is random)", d)
	}
	for _, k := range []string{"continuing_subword_prefix", "end_of_word_suffix"} {
		if s, err := o.str(k, ""); err != nil {
			return nil, err
		} else if s != "" {
			return nil, o.errorf(k, "%q not supported", s)
		}
	}
	m := &bpe{byteLevel: byteLevel, unk: -1}
	if m.fuseUnk, err = o.boolean("fuse_unk", false); err != nil {
		return nil, err
	}
	if m.byteFallback, err = o.boolean("byte_fallback", false); err != nil {
		return nil, err
	}
	if m.ignoreMerges, err = o.boolean("ignore_merges", false); err != nil {
		return nil, err
	}
	if err := m.readVocab(o); err != nil {
		return nil, err
	}
	if unk, err := o.str("unk_token", ""); err != nil {
		return nil, err
	} else if unk != "" {
		id, ok := m.vocab[unk]
		if !ok {
			return nil, o.errorf("unk_token", "%q is not in model.vocab", unk)
		}
		m.unk = id
	}
	if err := m.readMerges(o); err != nil {
		return nil, err
	}
	m.index()
	m.cache.init()
	return m, nil
}

func (m *bpe) readVocab(o object) error {
	var vocab map[string]int64
	if err := json.Unmarshal(o.m["vocab"], &vocab); err != nil || vocab == nil {
		return o.errorf("vocab", "is not an object of token ids")
	}
	m.vocab = make(map[string]int32, len(vocab))
	for tok, id := range vocab {
		if id < 0 || id > math.MaxInt32-1 {
			return o.errorf("vocab", "token %q has id %d out of range", tok, id)
		}
		m.vocab[tok] = int32(id)
	}
	return nil
}

// readMerges accepts both serialisations: "a b" strings and ["a", "b"]
// pairs. The merged token must be in the vocabulary, as Rust requires.
func (m *bpe) readMerges(o object) error {
	raw := o.m["merges"]
	var pairs [][2]string
	var lines []string
	if isNull(raw) {
		// no merges: a character-level model
	} else if err := json.Unmarshal(raw, &lines); err == nil {
		pairs = make([][2]string, len(lines))
		for i, l := range lines {
			a, b, ok := strings.Cut(l, " ")
			if !ok || strings.Contains(b, " ") {
				return o.errorf(fmt.Sprintf("merges[%d]", i), "%q is not two tokens separated by one space", l)
			}
			pairs[i] = [2]string{a, b}
		}
	} else if err := json.Unmarshal(raw, &pairs); err != nil {
		return o.errorf("merges", "is neither an array of \"a b\" strings nor of [a, b] pairs")
	}
	m.merges = make(map[uint64]merge, len(pairs))
	for i, p := range pairs {
		a, okA := m.vocab[p[0]]
		b, okB := m.vocab[p[1]]
		c, okC := m.vocab[p[0]+p[1]]
		switch {
		case !okA:
			return o.errorf(fmt.Sprintf("merges[%d]", i), "token %q is not in model.vocab", p[0])
		case !okB:
			return o.errorf(fmt.Sprintf("merges[%d]", i), "token %q is not in model.vocab", p[1])
		case !okC:
			return o.errorf(fmt.Sprintf("merges[%d]", i), "merged token %q is not in model.vocab", p[0]+p[1])
		}
		// A repeated pair keeps its last line, as Rust's HashMap collect does.
		m.merges[pairKey(a, b)] = merge{rank: int32(i), id: c}
	}
	return nil
}

// index precomputes the per-byte tables of the byte-level alphabet and the
// byte-fallback tokens.
func (m *bpe) index() {
	for b := 0; b < 256; b++ {
		m.fallback[b] = -1
		if id, ok := m.vocab[fallbackName(byte(b))]; ok {
			m.fallback[b] = id
		}
		if id, ok := m.vocab[string(byteRune[b])]; ok && m.byteLevel {
			m.byteInit[b] = []int32{id}
		}
	}
	if m.byteLevel && m.ignoreMerges {
		m.rawVocab = make(map[string]int32, len(m.vocab))
		for tok, id := range m.vocab {
			if raw, ok := byteLevelDecode(tok); ok {
				m.rawVocab[string(raw)] = id
			}
		}
	}
}
