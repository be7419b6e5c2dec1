package config

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
)

// Validator is implemented by configuration nodes that check themselves.
type Validator interface {
	Validate() error
}

// Validate calls Validate on every node of the tree v that implements
// Validator (with a value or pointer receiver; map values are validated on
// a copy), children before their parent, and returns the first failure as
// an *Error carrying the node's dotted path ("" for the root).
func Validate(v any) error {
	return validate(reflect.ValueOf(v), "")
}

func validate(v reflect.Value, path string) error {
	if !v.IsValid() {
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return validate(v.Elem(), path)
	case reflect.Struct:
		for _, f := range structFields(v.Type()) {
			if err := validate(v.FieldByIndex(f.index), join(path, f.key)); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := validate(v.Index(i), join(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return lessKey(keys[i], keys[j]) })
		for _, k := range keys {
			tmp := reflect.New(v.Type().Elem()).Elem()
			tmp.Set(v.MapIndex(k))
			if err := validate(tmp, join(path, fmt.Sprint(k.Interface()))); err != nil {
				return err
			}
		}
	}
	var val Validator
	if v.CanAddr() {
		val, _ = v.Addr().Interface().(Validator)
	} else if v.CanInterface() {
		val, _ = v.Interface().(Validator)
	}
	if val != nil {
		if err := val.Validate(); err != nil {
			return &Error{Path: path, Err: err}
		}
	}
	return nil
}

// lessKey orders map keys: numerically for numbers, else by their text.
func lessKey(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() < b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return a.Uint() < b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() < b.Float()
	}
	return fmt.Sprint(a.Interface()) < fmt.Sprint(b.Interface())
}
