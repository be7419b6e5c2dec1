package data

import (
	"errors"
	"fmt"
)

// Sentinel errors of dataset reading; RowError wraps them.
var (
	// ErrMissingField reports a row without a required field.
	ErrMissingField = errors.New("missing")
	// ErrFieldType reports a field whose value has the wrong JSON/Arrow type.
	ErrFieldType = errors.New("wrong type")
	// ErrInvalidJSON reports a JSONL line or JSON element that does not parse.
	ErrInvalidJSON = errors.New("invalid JSON")
	// ErrFormat reports a file whose extension or content is not a supported
	// dataset format.
	ErrFormat = errors.New("data: unsupported file format")
)

// RowError locates a bad row: the file, the row (the 1-based line for JSONL,
// the 1-based row or element otherwise) and, when known, the field.
// Err is the cause (often one of the sentinels above) and is unwrapped.
type RowError struct {
	File  string
	Row   int
	Line  bool // Row is a line number (JSONL)
	Field string
	Err   error
}

// Error renders e.g. `data: gsm8k/test.jsonl line 17: invalid JSON: ...` or
// `data: x.parquet row 3 field "answer": missing`.
func (e *RowError) Error() string {
	unit := "row"
	if e.Line {
		unit = "line"
	}
	if e.Field != "" {
		return fmt.Sprintf("data: %s %s %d field %q: %v", e.File, unit, e.Row, e.Field, e.Err)
	}
	return fmt.Sprintf("data: %s %s %d: %v", e.File, unit, e.Row, e.Err)
}

// Unwrap returns the cause.
func (e *RowError) Unwrap() error { return e.Err }
