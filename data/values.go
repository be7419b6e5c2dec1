package data

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
)

// Object is a JSON object that keeps its keys in insertion order, so that
// rows rendered from Arrow columns print in column order. Keys must be
// unique; Set replaces an existing key's value.
type Object struct {
	Keys   []string
	Values []any
}

// Set sets key to v, appending the key when it is new.
func (o *Object) Set(key string, v any) {
	for i, k := range o.Keys {
		if k == key {
			o.Values[i] = v
			return
		}
	}
	o.Keys = append(o.Keys, key)
	o.Values = append(o.Values, v)
}

// Get returns key's value and whether it is present.
func (o *Object) Get(key string) (any, bool) {
	for i, k := range o.Keys {
		if k == key {
			return o.Values[i], true
		}
	}
	return nil, false
}

// MarshalJSON writes the object with keys in order.
func (o *Object) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range o.Keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, err := marshalJSON(k)
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		vb, err := marshalJSON(o.Values[i])
		if err != nil {
			return nil, err
		}
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// RowObject renders row i of rec as an ordered JSON-able object (see
// ArrowValue for the value mapping). The result does not alias rec's memory.
func RowObject(rec arrow.Record, i int) *Object {
	o := &Object{Keys: make([]string, rec.NumCols()), Values: make([]any, rec.NumCols())}
	for c := range o.Keys {
		o.Keys[c] = rec.ColumnName(c)
		o.Values[c] = ArrowValue(rec.Column(c), i)
	}
	return o
}

// ArrowValue returns element i of arr as a Go value that encoding/json can
// marshal: nil for null, bool, int64, uint64, float64 (NaN and ±Inf become
// the strings "NaN", "+Inf", "-Inf"), string (copied), []byte for binary,
// []any for lists, *Object for structs and for maps with string keys
// ([]any of {key,value} objects otherwise), the dictionary's value for
// dictionary columns, and the array's own JSON rendering for other types.
func ArrowValue(arr arrow.Array, i int) any {
	if arr.IsNull(i) {
		return nil
	}
	switch a := arr.(type) {
	case *array.String:
		return strings.Clone(a.Value(i))
	case *array.LargeString:
		return strings.Clone(a.Value(i))
	case *array.Binary:
		return bytes.Clone(a.Value(i))
	case *array.Boolean:
		return a.Value(i)
	case *array.Int8:
		return int64(a.Value(i))
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Uint8:
		return uint64(a.Value(i))
	case *array.Uint16:
		return uint64(a.Value(i))
	case *array.Uint32:
		return uint64(a.Value(i))
	case *array.Uint64:
		return a.Value(i)
	case *array.Float32:
		return jsonFloat(float64(a.Value(i)))
	case *array.Float64:
		return jsonFloat(a.Value(i))
	case *array.Dictionary:
		return ArrowValue(a.Dictionary(), a.GetValueIndex(i))
	case *array.Map:
		return mapValue(a, i)
	case array.ListLike:
		s, e := a.ValueOffsets(i)
		out := make([]any, 0, e-s)
		for j := s; j < e; j++ {
			out = append(out, ArrowValue(a.ListValues(), int(j)))
		}
		return out
	case *array.Struct:
		st := a.DataType().(*arrow.StructType)
		o := &Object{}
		for f := 0; f < a.NumField(); f++ {
			o.Set(st.Field(f).Name, ArrowValue(a.Field(f), i))
		}
		return o
	}
	return json.RawMessage(mustJSON(arr.GetOneForMarshal(i)))
}

func mapValue(a *array.Map, i int) any {
	s, e := a.ValueOffsets(i)
	keys, items := a.Keys(), a.Items()
	if _, ok := keys.(*array.String); ok {
		o := &Object{}
		for j := int(s); j < int(e); j++ {
			o.Set(ArrowValue(keys, j).(string), ArrowValue(items, j))
		}
		return o
	}
	out := make([]any, 0, e-s)
	for j := int(s); j < int(e); j++ {
		out = append(out, &Object{Keys: []string{"key", "value"}, Values: []any{ArrowValue(keys, j), ArrowValue(items, j)}})
	}
	return out
}

func jsonFloat(f float64) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return f
}

// marshalJSON is json.Marshal without HTML escaping: prompts contain '<'
// and '>' (the <think> tags) and must stay readable in files.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(err.Error())
	}
	return b
}
