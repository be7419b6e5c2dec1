package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
)

// Run-directory file names read by Generate (DESIGN §9).
const (
	MetricsFile = "metrics.jsonl"
	EvalFile    = "eval.jsonl"
	SummaryFile = "summary.txt"
)

var (
	// ErrMalformed marks a line of a JSONL file that is not a JSON object, or
	// a field that a row cannot do without (such as a non-numeric "step").
	ErrMalformed = errors.New("report: malformed line")
	// ErrNoMetrics is returned when metrics.jsonl is missing or holds no row.
	ErrNoMetrics = errors.New("report: no metrics")
)

// row is one decoded JSONL line with its 1-based line number.
type row struct {
	line   int
	fields map[string]any
}

// readJSONL decodes every non-blank line of path into a generic object.
// A missing file is returned as an os.ErrNotExist error for the caller to
// judge; anything else that does not decode names the file and line.
func readJSONL(path string) ([]row, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return parseJSONL(path, raw)
}

// parseJSONL is readJSONL on bytes already read; name is used in errors.
func parseJSONL(name string, raw []byte) ([]row, error) {
	var rows []row
	for i, line := range bytes.Split(raw, []byte{'\n'}) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("%w: %s line %d: %v", ErrMalformed, name, i+1, err)
		}
		if obj == nil { // the literal null decodes without error
			return nil, fmt.Errorf("%w: %s line %d: null is not an object", ErrMalformed, name, i+1)
		}
		rows = append(rows, row{line: i + 1, fields: obj})
	}
	return rows, nil
}

// lookup follows a key path through nested objects and returns the value at
// its end as a finite float64. JSON booleans and strings are not numbers;
// a missing key, a non-object on the way, or a non-finite value reports false.
func lookup(obj map[string]any, path ...string) (float64, bool) {
	var cur any = obj
	for _, k := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return 0, false
		}
		if cur, ok = m[k]; !ok {
			return 0, false
		}
	}
	v, ok := cur.(float64)
	if !ok || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	return v, true
}

// lookupString returns the string at key, "" when absent, and false when the
// key holds something other than a string.
func lookupString(obj map[string]any, key string) (string, bool) {
	v, ok := obj[key]
	if !ok || v == nil {
		return "", true
	}
	s, ok := v.(string)
	return s, ok
}

// stepOf returns a row's "step", or fallback when the row has none. A step
// that is present but not a number is malformed.
func stepOf(name string, r row, fallback float64) (float64, error) {
	v, present := r.fields["step"]
	if !present {
		return fallback, nil
	}
	if s, ok := lookup(r.fields, "step"); ok {
		return s, nil
	}
	return 0, fmt.Errorf("%w: %s line %d field \"step\": %v is not a number", ErrMalformed, name, r.line, v)
}
