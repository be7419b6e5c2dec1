package chattemplate

import (
	"encoding/json"
	"fmt"
	"sort"

	"github.com/ardanlabs/jinja"
)

// toValue converts a caller's Go value to a template value. Unlike
// jinja.FromGoValue, which turns unsupported types into Undefined without
// a word, it refuses them, so a typo'd option cannot silently vanish from
// a prompt.
func toValue(v any) (jinja.Value, error) {
	switch x := v.(type) {
	case nil:
		return jinja.None(), nil
	case bool:
		return jinja.NewBool(x), nil
	case string:
		return jinja.NewString(x), nil
	case int:
		return jinja.NewInt(int64(x)), nil
	case int8:
		return jinja.NewInt(int64(x)), nil
	case int16:
		return jinja.NewInt(int64(x)), nil
	case int32:
		return jinja.NewInt(int64(x)), nil
	case int64:
		return jinja.NewInt(x), nil
	case uint8:
		return jinja.NewInt(int64(x)), nil
	case uint16:
		return jinja.NewInt(int64(x)), nil
	case uint32:
		return jinja.NewInt(int64(x)), nil
	case float32:
		return jinja.NewFloat(float64(x)), nil
	case float64:
		return jinja.NewFloat(x), nil
	case json.Number:
		return jinja.FromGoValue(x), nil
	case []string:
		items := make([]jinja.Value, len(x))
		for i, s := range x {
			items[i] = jinja.NewString(s)
		}
		return jinja.NewList(items), nil
	case []any:
		items := make([]jinja.Value, len(x))
		for i, e := range x {
			jv, err := toValue(e)
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%d]: %w", i, err)
			}
			items[i] = jv
		}
		return jinja.NewList(items), nil
	case map[string]any:
		// Go maps have no order; sorted keys keep renders deterministic.
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := jinja.NewDict()
		for _, k := range keys {
			jv, err := toValue(x[k])
			if err != nil {
				return jinja.Value{}, fmt.Errorf("[%q]: %w", k, err)
			}
			d.AsDict().Set(k, jv)
		}
		return d, nil
	}
	return jinja.Value{}, fmt.Errorf("unsupported type %T (use nil, bool, numbers, string, []string, []any or map[string]any)", v)
}
