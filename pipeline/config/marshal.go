package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Marshal writes the tree v as YAML with every field written out (omitempty
// is ignored so that defaults are visible), struct fields in declaration
// order, map keys sorted, durations as strings ("30s"), lists of scalars in
// flow style and two-space indentation. Loading the output into a zero value
// of the same type gives a deep-equal tree (NaN aside). nil pointers, maps
// and slices are written as null; empty non-nil ones as {} and [].
func Marshal(v any) ([]byte, error) {
	n, err := encode(reflect.ValueOf(v), "")
	if err != nil {
		return nil, err
	}
	return render(n)
}

// Hash returns the hex sha256 of the canonical Marshal of v with the keys
// at the dotted paths exclude removed (e.g. "train.steps", so that a resumed
// run may extend its step budget). Paths that do not exist are ignored. It
// panics if v holds a type Marshal cannot encode, a programmer error.
func Hash(v any, exclude ...string) string {
	n, err := encode(reflect.ValueOf(v), "")
	if err != nil {
		panic(fmt.Sprintf("config: Hash: %v", err))
	}
	for _, p := range exclude {
		removePath(n, strings.Split(p, "."))
	}
	b, err := render(n)
	if err != nil {
		panic(fmt.Sprintf("config: Hash: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func render(n *yaml.Node) ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return buf.Bytes(), nil
}

func removePath(n *yaml.Node, segs []string) {
	if n.Kind != yaml.MappingNode || len(segs) == 0 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != segs[0] {
			continue
		}
		if len(segs) == 1 {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
		removePath(n.Content[i+1], segs[1:])
		return
	}
}

func nullNode() *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
}

func encodes(t reflect.Type) bool {
	return t.Implements(marshalerType) || t.Implements(textMarshaler)
}

// encode builds the YAML node of v; see Marshal for the rules.
func encode(v reflect.Value, path string) (*yaml.Node, error) {
	if !v.IsValid() {
		return nullNode(), nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		if v.IsNil() {
			return nullNode(), nil
		}
	}
	if v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		if encodes(v.Type()) || (v.CanAddr() && encodes(v.Addr().Type())) {
			return leaf(v)
		}
		if !v.CanAddr() && encodes(reflect.PointerTo(v.Type())) {
			p := reflect.New(v.Type())
			p.Elem().Set(v)
			return leaf(p)
		}
	}
	if v.Type() == durationType {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: time.Duration(v.Int()).String()}, nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		return encode(v.Elem(), path)
	case reflect.Struct:
		n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range structFields(v.Type()) {
			val, err := encode(v.FieldByIndex(f.index), join(path, f.key))
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: f.key}, val)
		}
		return n, nil
	case reflect.Map:
		return encodeMap(v, path)
	case reflect.Slice, reflect.Array:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
		for i := range v.Len() {
			item, err := encode(v.Index(i), join(path, strconv.Itoa(i)))
			if err != nil {
				return nil, err
			}
			if item.Kind != yaml.ScalarNode || strings.Contains(item.Value, "\n") {
				n.Style = 0
			}
			n.Content = append(n.Content, item)
		}
		return n, nil
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return nil, &Error{Path: path, Err: fmt.Errorf("cannot marshal a %s", v.Type())}
	}
	return leaf(v)
}

func encodeMap(v reflect.Value, path string) (*yaml.Node, error) {
	n := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	keys := v.MapKeys()
	sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
	for _, k := range keys {
		kn, err := leaf(k)
		if err != nil {
			return nil, err
		}
		val, err := encode(v.MapIndex(k), join(path, fmt.Sprint(k.Interface())))
		if err != nil {
			return nil, err
		}
		n.Content = append(n.Content, kn, val)
	}
	return n, nil
}

// leaf lets yaml.v3 encode a scalar or a self-marshalling value, so that
// quoting ("true" as a string) and float formatting follow YAML rules.
func leaf(v reflect.Value) (*yaml.Node, error) {
	if v.Kind() == reflect.String && !encodes(v.Type()) {
		return stringNode(v.String()), nil
	}
	n := &yaml.Node{}
	if err := n.Encode(v.Interface()); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return n, nil
}

// stringNode is a string scalar. Multi-line strings are block literals when
// they read back unchanged (yaml.v3 mangles some, e.g. "\n\n"), and
// double-quoted otherwise; the encoder quotes strings that look like other
// types ("true", "42").
func stringNode(s string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
	if !strings.Contains(s, "\n") {
		return n
	}
	n.Style = yaml.LiteralStyle
	b, err := yaml.Marshal(&yaml.Node{Kind: yaml.SequenceNode, Content: []*yaml.Node{n}})
	var back []string
	if err != nil || yaml.Unmarshal(b, &back) != nil || len(back) != 1 || back[0] != s {
		n.Style = yaml.DoubleQuotedStyle
	}
	return n
}
