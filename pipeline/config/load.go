package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Doc is one YAML input: its name (a file path, used in error messages) and
// its bytes. A Doc may hold several YAML documents separated by "---";
// they are applied in order.
type Doc struct {
	Name string
	Data []byte
}

// Load merges docs, then the `--set key=value` arguments sets, into the
// tree *dst (a non-nil pointer to a struct whose current values are the
// defaults), then calls Validate on the result. It stops at the first error,
// an *Error naming the source, line and dotted key path; dst may then be
// partly updated. It panics if dst is not a non-nil pointer.
func Load(dst any, docs []Doc, sets []string) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("config: Load needs a non-nil pointer, got %T", dst))
	}
	for _, doc := range docs {
		if err := loadDoc(rv.Elem(), doc); err != nil {
			return err
		}
	}
	for _, s := range sets {
		if err := ApplySet(dst, s); err != nil {
			return err
		}
	}
	return Validate(dst)
}

// LoadFiles reads the files at paths and calls Load.
func LoadFiles(dst any, paths []string, sets []string) error {
	docs := make([]Doc, len(paths))
	for i, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return &Error{Source: p, Err: err}
		}
		docs[i] = Doc{Name: p, Data: b}
	}
	return Load(dst, docs, sets)
}

func loadDoc(v reflect.Value, doc Doc) error {
	dec := yaml.NewDecoder(bytes.NewReader(doc.Data))
	d := &decoder{source: doc.Name}
	for {
		var root yaml.Node
		err := dec.Decode(&root)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return &Error{Source: doc.Name, Err: err}
		}
		if err := d.decode(v, &root, ""); err != nil {
			return err
		}
	}
}

// ParseSet splits a `--set` argument "a.b.c=value" into its dotted key and
// its value parsed as a YAML scalar or flow collection ("0.5", "true",
// "30s", "[math, format]", "{a: 1}"); an empty value is the empty string.
// The key must be non-empty with no empty segment.
func ParseSet(arg string) (key string, value *yaml.Node, err error) {
	key, raw, ok := strings.Cut(arg, "=")
	if !ok {
		return "", nil, errors.New("want key=value")
	}
	key = strings.TrimSpace(key)
	if key == "" || strings.ContainsAny(key, " \t\n\r") {
		return "", nil, fmt.Errorf("bad key %q", key)
	}
	for _, seg := range strings.Split(key, ".") {
		if seg == "" {
			return "", nil, fmt.Errorf("bad key %q: empty segment", key)
		}
	}
	if raw == "" {
		return key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: ""}, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(raw), &doc); err != nil {
		return "", nil, fmt.Errorf("bad value %q: %w", raw, err)
	}
	if len(doc.Content) == 0 {
		// Only a comment or blanks: keep the text as a string.
		return key, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: raw}, nil
	}
	return key, doc.Content[0], nil
}

// ApplySet applies one `--set key=value` argument to the tree *dst without
// validating. Keys walk struct fields by yaml key, map entries by key and
// list items by index (an index equal to the length appends).
func ApplySet(dst any, arg string) error {
	rv := reflect.ValueOf(dst)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		panic(fmt.Sprintf("config: ApplySet needs a non-nil pointer, got %T", dst))
	}
	src := "--set " + arg
	key, val, err := ParseSet(arg)
	if err != nil {
		return &Error{Source: src, Err: err}
	}
	d := &decoder{source: src, noLine: true}
	return d.setPath(rv.Elem(), strings.Split(key, "."), "", val)
}

func (d *decoder) setPath(v reflect.Value, segs []string, path string, n *yaml.Node) error {
	if len(segs) == 0 {
		return d.decode(v, n, path)
	}
	seg, rest := segs[0], segs[1:]
	here := join(path, seg)
	for v.Kind() == reflect.Pointer && !custom(v.Type()) {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		v = v.Elem()
	}
	if custom(v.Type()) || v.Type() == durationType {
		return d.errf(nil, here, ErrUnknownKey)
	}
	switch v.Kind() {
	case reflect.Struct:
		f, ok := findField(v.Type(), seg)
		if !ok {
			return d.errf(nil, here, unknownKey(seg, fieldKeys(v.Type())))
		}
		return d.setPath(v.FieldByIndex(f.index), rest, here, n)
	case reflect.Map:
		key := reflect.New(v.Type().Key()).Elem()
		kn := &yaml.Node{Kind: yaml.ScalarNode, Value: seg}
		if err := d.decode(key, kn, here); err != nil {
			return err
		}
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		if len(rest) == 0 && isNull(n) {
			v.SetMapIndex(key, reflect.Value{})
			return nil
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if old := v.MapIndex(key); old.IsValid() {
			elem.Set(old)
		}
		if err := d.setPath(elem, rest, here, n); err != nil {
			return err
		}
		v.SetMapIndex(key, elem)
		return nil
	case reflect.Slice, reflect.Array:
		i, err := strconv.Atoi(seg)
		if err != nil || i < 0 || i > v.Len() || (i == v.Len() && v.Kind() == reflect.Array) {
			return d.errf(nil, here, fmt.Errorf("no list item %q (the list has %d)", seg, v.Len()))
		}
		if i == v.Len() {
			v.Set(reflect.Append(v, reflect.New(v.Type().Elem()).Elem()))
		}
		return d.setPath(v.Index(i), rest, here, n)
	}
	return d.errf(nil, here, ErrUnknownKey)
}
