package data

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// jsonRow is one decoded row and its 1-based number (line or element).
type jsonRow struct {
	num int
	obj map[string]any
}

// jsonlScanner streams JSON objects one per line. Blank lines are skipped;
// line numbers count them. Memory is bounded by the longest line.
type jsonlScanner struct {
	file string
	br   *bufio.Reader
	line int
}

func newJSONLScanner(file string, r io.Reader) *jsonlScanner {
	return &jsonlScanner{file: file, br: bufio.NewReaderSize(r, 1<<16)}
}

// next returns the next object, or io.EOF after the last one.
func (s *jsonlScanner) next() (jsonRow, error) {
	for {
		b, err := s.br.ReadBytes('\n')
		if len(b) == 0 && err != nil {
			if err == io.EOF {
				return jsonRow{}, io.EOF
			}
			return jsonRow{}, fmt.Errorf("data: %s: %w", s.file, err)
		}
		s.line++
		b = bytes.TrimSpace(b)
		if len(b) == 0 {
			if err == io.EOF {
				return jsonRow{}, io.EOF
			}
			continue
		}
		obj, perr := decodeObject(b)
		if perr != nil {
			return jsonRow{}, &RowError{File: s.file, Row: s.line, Line: true, Err: perr}
		}
		return jsonRow{num: s.line, obj: obj}, nil
	}
}

// decodeObject parses exactly one JSON object, keeping numbers exact.
func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJSON, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: trailing data after object", ErrInvalidJSON)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data after object", ErrInvalidJSON)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: %s, want object", ErrInvalidJSON, jsonKind(v))
	}
	return obj, nil
}

// jsonArrayScanner streams the objects of a top-level JSON array (the
// SVAMP layout) without loading the whole file.
type jsonArrayScanner struct {
	file    string
	dec     *json.Decoder
	n       int
	started bool
	done    bool
}

func newJSONArrayScanner(file string, r io.Reader) *jsonArrayScanner {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	dec.UseNumber()
	return &jsonArrayScanner{file: file, dec: dec}
}

func (s *jsonArrayScanner) next() (jsonRow, error) {
	if s.done {
		return jsonRow{}, io.EOF
	}
	if !s.started {
		s.started = true
		tok, err := s.dec.Token()
		if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
			return jsonRow{}, &RowError{File: s.file, Row: 1, Err: fmt.Errorf("%w: want a top-level array", ErrInvalidJSON)}
		}
	}
	if !s.dec.More() {
		s.done = true
		if _, err := s.dec.Token(); err != nil {
			return jsonRow{}, &RowError{File: s.file, Row: s.n + 1, Err: fmt.Errorf("%w: %v", ErrInvalidJSON, err)}
		}
		return jsonRow{}, io.EOF
	}
	s.n++
	var v any
	if err := s.dec.Decode(&v); err != nil {
		s.done = true
		return jsonRow{}, &RowError{File: s.file, Row: s.n, Err: fmt.Errorf("%w: %v", ErrInvalidJSON, err)}
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return jsonRow{}, &RowError{File: s.file, Row: s.n, Err: fmt.Errorf("%w: %s, want object", ErrInvalidJSON, jsonKind(v))}
	}
	return jsonRow{num: s.n, obj: obj}, nil
}

// rowScanner is either scanner above.
type rowScanner interface {
	next() (jsonRow, error)
}

// newJSONScanner sniffs the first non-space byte: '[' selects the array
// scanner, anything else the JSONL scanner (whose line numbers count the
// blank lines skipped while sniffing).
func newJSONScanner(file string, r io.Reader) (rowScanner, bool) {
	br := bufio.NewReaderSize(r, 1<<16)
	lines := 0
	for {
		b, err := br.Peek(1)
		if err != nil {
			break
		}
		if b[0] == '[' {
			return newJSONArrayScanner(file, br), true
		}
		if b[0] != ' ' && b[0] != '\t' && b[0] != '\r' && b[0] != '\n' {
			break
		}
		if b[0] == '\n' {
			lines++
		}
		_, _ = br.ReadByte()
	}
	s := newJSONLScanner(file, br)
	s.line = lines
	return s, false
}
