package config

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// decoder merges YAML nodes into a Go value, locating every error.
type decoder struct {
	source string // file name or "--set arg"
	noLine bool   // --set values: lines are meaningless
}

func (d *decoder) errf(n *yaml.Node, path string, err error) error {
	e := &Error{Source: d.source, Path: path, Err: err}
	if n != nil && !d.noLine {
		e.Line = n.Line
	}
	return e
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// decode merges n into v (settable) following the package's merge rules.
func (d *decoder) decode(v reflect.Value, n *yaml.Node, path string) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil
		}
		return d.decode(v, n.Content[0], path)
	case yaml.AliasNode:
		return d.decode(v, n.Alias, path)
	}
	t := v.Type()
	if isNull(n) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Interface:
			v.SetZero()
			return nil
		case reflect.Struct:
			return nil // an empty section keeps its defaults
		}
		if !custom(t) {
			return d.errf(n, path, errors.New("empty value"))
		}
	}
	if t.Kind() == reflect.Pointer {
		// Decode into a fresh copy: config trees are copied by value, so
		// the old pointee may be shared with another tree (a preset, the
		// defaults) that must not change.
		fresh := reflect.New(t.Elem())
		if !v.IsNil() {
			fresh.Elem().Set(v.Elem())
		}
		if err := d.decode(fresh.Elem(), n, path); err != nil {
			return err
		}
		v.Set(fresh)
		return nil
	}
	if custom(t) {
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return d.errf(n, path, cleanYAMLError(err))
		}
		return nil
	}
	if t == durationType {
		return d.duration(v, n, path)
	}
	switch t.Kind() {
	case reflect.Struct:
		return d.structure(v, n, path)
	case reflect.Map:
		return d.mapping(v, n, path)
	case reflect.Slice, reflect.Array:
		return d.sequence(v, n, path)
	case reflect.Interface:
		if err := n.Decode(v.Addr().Interface()); err != nil {
			return d.errf(n, path, cleanYAMLError(err))
		}
		return nil
	case reflect.Bool, reflect.String, reflect.Float32, reflect.Float64,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return d.scalar(v, n, path)
	}
	return d.errf(n, path, fmt.Errorf("unsupported Go type %s", t))
}

func (d *decoder) scalar(v reflect.Value, n *yaml.Node, path string) error {
	if n.Kind != yaml.ScalarNode {
		return d.errf(n, path, fmt.Errorf("want a %s, got a %s", kindName(v.Type()), nodeKind(n)))
	}
	tmp := reflect.New(v.Type())
	// yaml.v3 truncates 1.5 into an int; only accept integers there.
	integer := v.Kind() >= reflect.Int && v.Kind() <= reflect.Uintptr
	if (integer && n.ShortTag() != "!!int") || n.Decode(tmp.Interface()) != nil {
		return d.errf(n, path, fmt.Errorf("cannot use %q as %s", n.Value, kindName(v.Type())))
	}
	v.Set(tmp.Elem())
	return nil
}

// duration accepts Go duration strings ("1m30s") and a bare 0; a bare
// number is ambiguous (yaml.v3 would read 30 as 30ns) and is rejected.
func (d *decoder) duration(v reflect.Value, n *yaml.Node, path string) error {
	if n.Kind == yaml.ScalarNode {
		if n.ShortTag() == "!!int" && n.Value == "0" {
			v.SetInt(0)
			return nil
		}
		if n.ShortTag() == "!!str" {
			if dur, err := time.ParseDuration(n.Value); err == nil {
				v.SetInt(int64(dur))
				return nil
			}
		}
	}
	return d.errf(n, path, fmt.Errorf("cannot use %q as a duration (want e.g. 30s, 5m, 1h30m)", n.Value))
}

// pairs iterates a mapping's key/value pairs, expanding YAML merge keys
// ("<<") first so that explicit keys override merged ones.
func (d *decoder) pairs(n *yaml.Node, path string, f func(k, val *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return d.errf(n, path, fmt.Errorf("want a mapping, got a %s", nodeKind(n)))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.ShortTag() != "!!merge" {
			if seen[k.Value] {
				return d.errf(k, join(path, k.Value), errors.New("duplicate key"))
			}
			seen[k.Value] = true
			continue
		}
		merged := []*yaml.Node{val}
		if val.Kind == yaml.SequenceNode {
			merged = val.Content
		}
		for _, m := range merged {
			for m.Kind == yaml.AliasNode {
				m = m.Alias
			}
			if err := d.pairs(m, path, f); err != nil {
				return err
			}
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].ShortTag() == "!!merge" {
			continue
		}
		if err := f(n.Content[i], n.Content[i+1]); err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) structure(v reflect.Value, n *yaml.Node, path string) error {
	return d.pairs(n, path, func(k, val *yaml.Node) error {
		f, ok := findField(v.Type(), k.Value)
		if !ok {
			return d.errf(k, join(path, k.Value), unknownKey(k.Value, fieldKeys(v.Type())))
		}
		return d.decode(v.FieldByIndex(f.index), val, join(path, k.Value))
	})
}

func (d *decoder) mapping(v reflect.Value, n *yaml.Node, path string) error {
	t := v.Type()
	if v.IsNil() {
		if n.Kind != yaml.MappingNode {
			return d.errf(n, path, fmt.Errorf("want a mapping, got a %s", nodeKind(n)))
		}
		v.Set(reflect.MakeMap(t))
	}
	return d.pairs(n, path, func(k, val *yaml.Node) error {
		key := reflect.New(t.Key()).Elem()
		if err := d.decode(key, k, join(path, k.Value)); err != nil {
			return err
		}
		if isNull(val) {
			v.SetMapIndex(key, reflect.Value{})
			return nil
		}
		elem := reflect.New(t.Elem()).Elem()
		if old := v.MapIndex(key); old.IsValid() {
			elem.Set(old)
		}
		if err := d.decode(elem, val, join(path, k.Value)); err != nil {
			return err
		}
		v.SetMapIndex(key, elem)
		return nil
	})
}

func (d *decoder) sequence(v reflect.Value, n *yaml.Node, path string) error {
	if n.Kind != yaml.SequenceNode {
		return d.errf(n, path, fmt.Errorf("want a list, got a %s", nodeKind(n)))
	}
	t := v.Type()
	var dst reflect.Value
	if t.Kind() == reflect.Array {
		if len(n.Content) != t.Len() {
			return d.errf(n, path, fmt.Errorf("want a list of %d items, got %d", t.Len(), len(n.Content)))
		}
		dst = reflect.New(t).Elem()
	} else {
		dst = reflect.MakeSlice(t, len(n.Content), len(n.Content))
	}
	for i, item := range n.Content {
		if err := d.decode(dst.Index(i), item, join(path, strconv.Itoa(i))); err != nil {
			return err
		}
	}
	v.Set(dst)
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return fmt.Sprintf("scalar %q", n.Value)
	}
	return "node"
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "non-negative integer"
	}
	return t.String()
}

// cleanYAMLError strips yaml.v3's "yaml: unmarshal errors:\n  line N: "
// wrapper, since our errors carry the location themselves.
func cleanYAMLError(err error) error {
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) == 1 {
		msg := te.Errors[0]
		var line int
		var rest string
		if _, e := fmt.Sscanf(msg, "line %d: ", &line); e == nil {
			if _, after, ok := strings.Cut(msg, ": "); ok {
				rest = after
			}
			return errors.New(rest)
		}
		return errors.New(msg)
	}
	return err
}
