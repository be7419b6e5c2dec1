package hftok

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// object is a JSON object being read, with its path for error messages.
type object struct {
	file string
	path string
	m    map[string]json.RawMessage
}

// errorf names the file and the field path of a refusal.
func (o object) errorf(key, format string, args ...any) error {
	return fmt.Errorf("%s: %s %s", o.file, o.join(key), fmt.Sprintf(format, args...))
}

func (o object) join(key string) string {
	switch {
	case o.path == "":
		return key
	case key == "":
		return o.path
	case key[0] == '[':
		return o.path + key
	}
	return o.path + "." + key
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(bytes.TrimSpace(raw)) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// sub reads field key as an object; ok is false when it is absent or null.
func (o object) sub(key string) (object, bool, error) {
	raw := o.m[key]
	if isNull(raw) {
		return object{}, false, nil
	}
	return o.asObject(key, raw)
}

func (o object) asObject(key string, raw json.RawMessage) (object, bool, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return object{}, false, o.errorf(key, "is not an object")
	}
	return object{file: o.file, path: o.join(key), m: m}, true, nil
}

// list reads field key as an array of objects.
func (o object) list(key string) ([]object, error) {
	var raws []json.RawMessage
	if err := json.Unmarshal(o.m[key], &raws); err != nil {
		return nil, o.errorf(key, "is not an array")
	}
	out := make([]object, len(raws))
	for i, r := range raws {
		child, ok, err := object{file: o.file, path: o.join(key), m: nil}.asObject(fmt.Sprintf("[%d]", i), r)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, o.errorf(fmt.Sprintf("%s[%d]", key, i), "is null")
		}
		out[i] = child
	}
	return out, nil
}

// str reads a string field; absent or null gives def.
func (o object) str(key, def string) (string, error) {
	raw := o.m[key]
	if isNull(raw) {
		return def, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", o.errorf(key, "is not a string")
	}
	return s, nil
}

// typ reads the required "type" field.
func (o object) typ() (string, error) {
	t, err := o.str("type", "")
	if err == nil && t == "" {
		err = o.errorf("type", "missing")
	}
	return t, err
}

// boolean reads a bool field; absent or null gives def.
func (o object) boolean(key string, def bool) (bool, error) {
	raw := o.m[key]
	if isNull(raw) {
		return def, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err != nil {
		return false, o.errorf(key, "is not a boolean")
	}
	return b, nil
}

// integer reads a non-negative integer field; absent or null gives def.
func (o object) integer(key string, def int) (int, error) {
	raw := o.m[key]
	if isNull(raw) {
		return def, nil
	}
	var n int
	if err := json.Unmarshal(raw, &n); err != nil || n < 0 {
		return 0, o.errorf(key, "is not a non-negative integer")
	}
	return n, nil
}

// unsupported refuses a component type.
func (o object) unsupported(t string) error {
	return o.errorf("type", "%q not supported", t)
}

// stringPattern reads a {"String": s} pattern, refusing {"Regex": ...}
// (other than for Split, which reads its own).
func (o object) stringPattern() (string, error) {
	p, ok, err := o.sub("pattern")
	if err != nil {
		return "", err
	}
	if !ok {
		return "", o.errorf("pattern", "missing")
	}
	if _, isRe := p.m["Regex"]; isRe {
		return "", p.errorf("Regex", "not supported (only String patterns)")
	}
	s, err := p.str("String", "")
	if err == nil && s == "" {
		err = p.errorf("String", "missing or empty")
	}
	return s, err
}

// parseNormalizer reads the normalizer; nil means none.
func parseNormalizer(o object) (*normalizer, error) {
	t, err := o.typ()
	if err != nil {
		return nil, err
	}
	n := &normalizer{kind: t}
	switch t {
	case "NFC", "NFD", "NFKC", "NFKD":
	case "Prepend":
		if n.text, err = o.str("prepend", ""); err == nil && n.text == "" {
			err = o.errorf("prepend", "missing")
		}
	case "Replace":
		if n.text, err = o.stringPattern(); err == nil {
			n.content, err = o.str("content", "")
		}
	case "Sequence":
		n.seq, err = parseSequence(o, "normalizers", parseNormalizer)
	default:
		return nil, o.unsupported(t)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// parseSequence parses each object of o's list key with parse: the
// children of a Sequence normalizer or decoder.
func parseSequence[T any](o object, key string, parse func(object) (*T, error)) ([]T, error) {
	items, err := o.list(key)
	if err != nil {
		return nil, err
	}
	var seq []T
	for _, it := range items {
		c, err := parse(it)
		if err != nil {
			return nil, err
		}
		seq = append(seq, *c)
	}
	return seq, nil
}

// parseDecoder reads the decoder.
func parseDecoder(o object) (*decoder, error) {
	t, err := o.typ()
	if err != nil {
		return nil, err
	}
	d := &decoder{kind: t}
	switch t {
	case "ByteLevel", "ByteFallback", "Fuse":
	case "Replace":
		if d.from, err = o.stringPattern(); err == nil {
			d.to, err = o.str("content", "")
		}
	case "Strip":
		var c string
		if c, err = o.str("content", ""); err == nil && utf8.RuneCountInString(c) != 1 {
			err = o.errorf("content", "is not one character")
		}
		if err == nil {
			d.content, _ = utf8.DecodeRuneInString(c)
			if d.start, err = o.integer("start", 0); err == nil {
				d.stop, err = o.integer("stop", 0)
			}
		}
	case "Sequence":
		d.seq, err = parseSequence(o, "decoders", parseDecoder)
	default:
		return nil, o.unsupported(t)
	}
	if err != nil {
		return nil, err
	}
	return d, nil
}

// preStep is one pre-tokenizer stage; pieces flow through them in order.
type preStep struct {
	kind           string // Split, Digits, ByteLevel
	split          splitter
	individual     bool // Digits
	addPrefixSpace bool // ByteLevel
	useRegex       bool // ByteLevel
}

// parsePreTokenizer flattens the pre-tokenizer into steps.
func parsePreTokenizer(o object, steps []preStep) ([]preStep, error) {
	t, err := o.typ()
	if err != nil {
		return nil, err
	}
	if len(steps) > 0 && steps[len(steps)-1].kind == "ByteLevel" {
		return nil, o.errorf("type", "%q after ByteLevel not supported", t)
	}
	switch t {
	case "Sequence":
		items, err := o.list("pretokenizers")
		if err != nil {
			return nil, err
		}
		for _, it := range items {
			if steps, err = parsePreTokenizer(it, steps); err != nil {
				return nil, err
			}
		}
		return steps, nil
	case "Split":
		return parseSplit(o, steps)
	case "Digits":
		ind, err := o.boolean("individual_digits", false)
		return append(steps, preStep{kind: t, individual: ind}), err
	case "ByteLevel":
		s := preStep{kind: t}
		if s.addPrefixSpace, err = o.boolean("add_prefix_space", true); err != nil {
			return nil, err
		}
		if s.useRegex, err = o.boolean("use_regex", true); err != nil {
			return nil, err
		}
		s.split = knownSplitters[gpt2Regex]
		return append(steps, s), nil
	}
	return nil, o.unsupported(t)
}

func parseSplit(o object, steps []preStep) ([]preStep, error) {
	p, ok, err := o.sub("pattern")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, o.errorf("pattern", "missing")
	}
	if _, isStr := p.m["String"]; isStr {
		return nil, p.errorf("String", "not supported (only the known Regex patterns)")
	}
	re, err := p.str("Regex", "")
	if err != nil {
		return nil, err
	}
	sp, known := knownSplitters[re]
	if !known {
		return nil, p.errorf("Regex", "%q not supported", re)
	}
	if b, err := o.str("behavior", ""); err != nil {
		return nil, err
	} else if b != "Isolated" {
		return nil, o.errorf("behavior", "%q not supported", b)
	}
	if inv, err := o.boolean("invert", false); err != nil {
		return nil, err
	} else if inv {
		return nil, o.errorf("invert", "true not supported")
	}
	return append(steps, preStep{kind: "Split", split: sp}), nil
}

// template is the single-sequence TemplateProcessing: pieces are either
// the input (nil ids) or a special token's ids.
type template []templatePiece

type templatePiece struct {
	seq bool
	ids []int32
}

// parsePostProcessor reads the post-processor; a nil template means none
// (ByteLevel only touches offsets, which this package does not produce).
func parsePostProcessor(o object) (template, error) {
	t, err := o.typ()
	if err != nil {
		return nil, err
	}
	switch t {
	case "ByteLevel":
		return nil, nil
	case "TemplateProcessing":
		return parseTemplate(o)
	case "Sequence":
		items, err := o.list("processors")
		if err != nil {
			return nil, err
		}
		var out template
		for _, it := range items {
			tp, err := parsePostProcessor(it)
			if err != nil {
				return nil, err
			}
			if tp != nil {
				if out != nil {
					return nil, it.errorf("type", "second TemplateProcessing not supported")
				}
				out = tp
			}
		}
		return out, nil
	}
	return nil, o.unsupported(t)
}
