package config

import (
	"fmt"

	"gopkg.in/yaml.v3"
)

// Auto is the keyword an OrAuto field accepts in place of a value.
const Auto = "auto"

// OrAuto is a field that holds either a value of type T or the keyword
// "auto" (e.g. `alpha: auto` or `alpha: 0.5`). Its zero value is the zero T,
// not auto; a config sets its default explicitly with AutoValue or Fixed.
//
// It is the pattern for any scalar-or-keyword field: a small struct with a
// pointer-receiver UnmarshalYAML that checks the keyword first and otherwise
// decodes the value, and a value-receiver MarshalYAML writing back the same
// form. Load, Marshal and Hash treat such types as opaque leaves.
type OrAuto[T any] struct {
	// IsAuto reports that the keyword was given; Value is then ignored.
	IsAuto bool
	// Value is the explicit value when IsAuto is false.
	Value T
}

// FloatOrAuto is a float64 or "auto".
type FloatOrAuto = OrAuto[float64]

// AutoValue returns an OrAuto set to "auto".
func AutoValue[T any]() OrAuto[T] { return OrAuto[T]{IsAuto: true} }

// Fixed returns an OrAuto holding v.
func Fixed[T any](v T) OrAuto[T] { return OrAuto[T]{Value: v} }

// Get returns the value, or def when the field is "auto".
func (o OrAuto[T]) Get(def T) T {
	if o.IsAuto {
		return def
	}
	return o.Value
}

// String returns "auto" or the value formatted with %v.
func (o OrAuto[T]) String() string {
	if o.IsAuto {
		return Auto
	}
	return fmt.Sprint(o.Value)
}

// MarshalYAML writes "auto" or the value.
func (o OrAuto[T]) MarshalYAML() (any, error) {
	if o.IsAuto {
		return Auto, nil
	}
	return o.Value, nil
}

// UnmarshalYAML accepts the plain scalar auto or a YAML value of type T.
func (o *OrAuto[T]) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!str" && n.Value == Auto {
		*o = OrAuto[T]{IsAuto: true}
		return nil
	}
	var v T
	if err := n.Decode(&v); err != nil {
		return fmt.Errorf("cannot use %q as %T or %q", n.Value, v, Auto)
	}
	*o = OrAuto[T]{Value: v}
	return nil
}
