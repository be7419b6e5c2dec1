package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

// Validator is implemented by configuration nodes that check themselves.
type Validator interface {
	Validate() error
}

// ErrNotFinite is wrapped by the *Error of a float key holding NaN or ±Inf
// (YAML .nan, .inf).
var ErrNotFinite = errors.New("not a finite number (NaN and infinities are not allowed)")

// Validate calls Validate on every node of the tree v that implements
// Validator (with a value or pointer receiver; map values are validated on
// a copy), children before their parent, and returns the first failure as
// an *Error carrying the node's dotted path ("" for the root). Before any
// node's own Validate, every float leaf must be finite: NaN or ±Inf is an
// *Error wrapping ErrNotFinite with the leaf's path (a custom-decoded leaf
// such as OrAuto reports its own path).
func Validate(v any) error {
	return validate(reflect.ValueOf(v), "")
}

// checkFinite reports a NaN or infinite float anywhere in v, the inside of
// a custom-decoded node, as an error at path extended by the yaml keys of
// tagged fields (untagged fields, such as OrAuto's Value, keep the path).
func checkFinite(v reflect.Value, path string) error {
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if f := v.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
			return &Error{Path: path, Err: fmt.Errorf("%w: %v", ErrNotFinite, f)}
		}
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return checkFinite(v.Elem(), path)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			p := path
			if key, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); key != "" && key != "-" {
				p = join(path, key)
			}
			if err := checkFinite(v.Field(i), p); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := checkFinite(v.Index(i), join(path, strconv.Itoa(i))); err != nil {
				return err
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if err := checkFinite(v.MapIndex(k), join(path, fmt.Sprint(k.Interface()))); err != nil {
				return err
			}
		}
	}
	return nil
}

func validate(v reflect.Value, path string) error {
	if !v.IsValid() {
		return nil
	}
	if v.Kind() == reflect.Struct && custom(v.Type()) {
		if err := checkFinite(v, path); err != nil {
			return err
		}
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		if err := checkFinite(v, path); err != nil {
			return err
		}
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
