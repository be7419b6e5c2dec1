package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	durationType    = reflect.TypeFor[time.Duration]()
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
	marshalerType   = reflect.TypeFor[yaml.Marshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
)

// field is one YAML key of a struct type.
type field struct {
	key   string
	index []int // for reflect.Value.FieldByIndex, through inline structs
}

// structFields lists t's keys in declaration order (inline structs
// flattened). It panics on a duplicate key, a programmer error.
func structFields(t reflect.Type) []field {
	if f, ok := fieldCache.Load(t); ok {
		return f.([]field)
	}
	var out []field
	seen := map[string]bool{}
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			sf := t.Field(i)
			tag := sf.Tag.Get("yaml")
			name, opts, _ := strings.Cut(tag, ",")
			inline := strings.Contains(","+opts+",", ",inline,")
			// An unexported embedded struct may still be inlined: its
			// exported fields are settable through it.
			if tag == "-" || (!sf.IsExported() && !(sf.Anonymous && inline)) {
				continue
			}
			index := append(append([]int(nil), prefix...), i)
			if inline {
				if sf.Type.Kind() != reflect.Struct {
					panic(fmt.Sprintf("config: inline field %s of %s must be a struct", sf.Name, t))
				}
				walk(sf.Type, index)
				continue
			}
			if name == "" {
				name = strings.ToLower(sf.Name)
			}
			if seen[name] {
				panic(fmt.Sprintf("config: key %q appears twice in %s", name, t))
			}
			seen[name] = true
			out = append(out, field{key: name, index: index})
		}
	}
	walk(t, nil)
	fieldCache.Store(t, out)
	return out
}

var fieldCache sync.Map // reflect.Type → []field

func findField(t reflect.Type, key string) (field, bool) {
	for _, f := range structFields(t) {
		if f.key == key {
			return f, true
		}
	}
	return field{}, false
}

func fieldKeys(t reflect.Type) []string {
	fs := structFields(t)
	keys := make([]string, len(fs))
	for i, f := range fs {
		keys[i] = f.key
	}
	return keys
}

// custom reports whether values of t decode themselves (yaml.Unmarshaler
// or encoding.TextUnmarshaler on *t); such values are opaque to the walker.
func custom(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return p.Implements(unmarshalerType) || p.Implements(textUnmarshaler)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}
