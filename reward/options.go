package reward

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Options are a reward part's settings, as decoded from YAML or from the
// `name(key=value,...)` spec form (where every value is a string). The typed
// getters accept either form and report the key in their errors.
type Options map[string]any

// Check returns an ErrConfig error naming any key not in known.
func (o Options) Check(known ...string) error {
	var bad []string
	for k := range o {
		found := false
		for _, n := range known {
			if k == n {
				found = true
				break
			}
		}
		if !found {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	return fmt.Errorf("%w: unknown option(s) %s (known: %s)", ErrConfig, strings.Join(bad, ", "), strings.Join(known, ", "))
}

// String returns option key as a string, or def when absent.
func (o Options) String(key, def string) (string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case int, int64, float64, bool:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("%w: option %q: want a string, got %T", ErrConfig, key, v)
}

// Float returns option key as a float64, or def when absent.
func (o Options) Float(key string, def float64) (float64, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, fmt.Errorf("%w: option %q: %v", ErrConfig, key, err)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%w: option %q: want a number, got %T", ErrConfig, key, v)
}

// hitMiss reads the two rewards most builtins pay, options hitKey (default
// 1) for a match and missKey (default 0) otherwise.
func (o Options) hitMiss(hitKey, missKey string) (hit, miss float64, err error) {
	if hit, err = o.Float(hitKey, 1); err != nil {
		return 0, 0, err
	}
	miss, err = o.Float(missKey, 0)
	return hit, miss, err
}

// Int returns option key as an int, or def when absent.
func (o Options) Int(key string, def int) (int, error) {
	f, err := o.Float(key, float64(def))
	if err != nil {
		return 0, err
	}
	if f != float64(int(f)) {
		return 0, fmt.Errorf("%w: option %q: want an integer, got %v", ErrConfig, key, f)
	}
	return int(f), nil
}

// Bool returns option key as a bool, or def when absent.
func (o Options) Bool(key string, def bool) (bool, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case string:
		b, err := strconv.ParseBool(strings.TrimSpace(x))
		if err != nil {
			return false, fmt.Errorf("%w: option %q: %v", ErrConfig, key, err)
		}
		return b, nil
	}
	return false, fmt.Errorf("%w: option %q: want a bool, got %T", ErrConfig, key, v)
}

// Duration returns option key as a duration ("1.5s", or a number of
// seconds), or def when absent.
func (o Options) Duration(key string, def time.Duration) (time.Duration, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(x))
		if err != nil {
			return 0, fmt.Errorf("%w: option %q: %v", ErrConfig, key, err)
		}
		return d, nil
	}
	f, err := o.Float(key, 0)
	if err != nil {
		return 0, err
	}
	return time.Duration(f * float64(time.Second)), nil
}

// Strings returns option key as a list of strings (a YAML list or a
// whitespace-separated string), or def when absent.
func (o Options) Strings(key string, def []string) ([]string, error) {
	v, ok := o[key]
	if !ok || v == nil {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return strings.Fields(x), nil
	case []string:
		return x, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = fmt.Sprint(e)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: option %q: want a list of strings, got %T", ErrConfig, key, v)
}

// clone returns a shallow copy of o (never nil).
func (o Options) clone() Options {
	c := make(Options, len(o)+1)
	for k, v := range o {
		c[k] = v
	}
	return c
}
