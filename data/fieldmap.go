package data

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// FieldMap says which fields of a dataset row hold the prompt, the answer
// and the row key. Empty names select the defaults: the prompt is the first
// present of "prompt", "problem", "question", "Question"; the answer the
// first present of "answer", "reward_model.ground_truth" (verl), "solution",
// "Answer"; the key is the 1-based row number. A dotted name ("a.b") selects
// a field of a nested object.
type FieldMap struct {
	Prompt string
	Answer string
	ID     string
}

var (
	defaultPromptFields = []string{"prompt", "problem", "question", "Question"}
	defaultAnswerFields = []string{"answer", "reward_model.ground_truth", "solution", "Answer"}
)

// verl's column naming the dataset of each row.
const verlDataSource = ColDataSource

// rowMapper turns generic rows (decoded JSON or rendered Arrow values) into
// Prompts.
type rowMapper struct {
	fields  FieldMap
	file    string
	dataset string // default dataset name
	line    bool   // rows are numbered by line
}

// mapRow converts row number rowNum. Nested objects may be map[string]any
// (JSON) or *Object (Arrow).
func (m *rowMapper) mapRow(row map[string]any, rowNum int) (Prompt, error) {
	fail := func(field string, err error) (Prompt, error) {
		return Prompt{}, &RowError{File: m.file, Row: rowNum, Line: m.line, Field: field, Err: err}
	}
	used := map[string]bool{}
	promptName, pv, ok := lookupFirst(row, m.fields.Prompt, defaultPromptFields)
	if !ok {
		return fail(orDefault(m.fields.Prompt, "prompt"), ErrMissingField)
	}
	prompt, err := promptText(pv)
	if err != nil {
		return fail(promptName, err)
	}
	used[topKey(promptName)] = true
	answerName, av, ok := lookupFirst(row, m.fields.Answer, defaultAnswerFields)
	if !ok {
		return fail(orDefault(m.fields.Answer, "answer"), ErrMissingField)
	}
	answer, err := scalarText(av)
	if err != nil {
		return fail(answerName, err)
	}
	used[topKey(answerName)] = true
	p := Prompt{Dataset: m.dataset, Prompt: prompt, Answer: answer}
	if ds, ok := row[ColDataset].(string); ok && ds != "" {
		p.Dataset = ds
		used[ColDataset] = true
	} else if ds, ok := row[verlDataSource].(string); ok && ds != "" {
		p.Dataset = ds
	}
	if p.ID, err = m.rowID(row, rowNum, p.Dataset, used); err != nil {
		return fail(orDefault(m.fields.ID, ColPromptID), err)
	}
	if p.Meta, err = metaText(row, used); err != nil {
		return fail(ColMeta, err)
	}
	return p, nil
}

// rowID uses an rlpipe prompt_id column when present, else hashes the ID
// field's text or the row number.
func (m *rowMapper) rowID(row map[string]any, rowNum int, dataset string, used map[string]bool) (uint64, error) {
	if m.fields.ID != "" {
		v, ok := lookup(row, m.fields.ID)
		if !ok {
			return 0, ErrMissingField
		}
		used[topKey(m.fields.ID)] = true
		key, err := scalarText(v)
		if err != nil {
			return 0, err
		}
		return PromptID(dataset, key), nil
	}
	if v, ok := row[ColPromptID]; ok {
		used[ColPromptID] = true
		switch x := v.(type) {
		case uint64:
			return x, nil
		case int64:
			return uint64(x), nil
		case json.Number:
			id, err := strconv.ParseUint(string(x), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("%w: %v", ErrFieldType, err)
			}
			return id, nil
		}
		return 0, fmt.Errorf("%w: %T, want unsigned integer", ErrFieldType, v)
	}
	return PromptID(dataset, strconv.Itoa(rowNum)), nil
}

func orDefault(s, d string) string {
	if s != "" {
		return s
	}
	return d
}

func topKey(name string) string {
	k, _, _ := strings.Cut(name, ".")
	return k
}

// lookupFirst finds name, or when name is empty the first present default.
func lookupFirst(row map[string]any, name string, defaults []string) (string, any, bool) {
	if name != "" {
		v, ok := lookup(row, name)
		return name, v, ok
	}
	for _, d := range defaults {
		if v, ok := lookup(row, d); ok {
			return d, v, true
		}
	}
	return "", nil, false
}

// lookup resolves a dotted path; a null value counts as missing.
func lookup(row map[string]any, path string) (any, bool) {
	head, rest, nested := strings.Cut(path, ".")
	v, ok := row[head]
	if !ok && nested {
		// A flat column may itself contain dots.
		v, ok = row[path]
		return v, ok && v != nil
	}
	if !ok || v == nil {
		return nil, false
	}
	for nested {
		head, rest, nested = strings.Cut(rest, ".")
		v, ok = objectField(v, head)
		if !ok || v == nil {
			return nil, false
		}
	}
	return v, true
}

func objectField(v any, key string) (any, bool) {
	switch o := v.(type) {
	case map[string]any:
		x, ok := o[key]
		return x, ok
	case *Object:
		return o.Get(key)
	}
	return nil, false
}

// promptText accepts a string or a chat list of {role, content} messages,
// from which it takes the last user message.
func promptText(v any) (string, error) {
	if s, ok := v.(string); ok {
		return s, nil
	}
	list, ok := v.([]any)
	if !ok {
		return "", fmt.Errorf("%w: %s, want string or chat list", ErrFieldType, jsonKind(v))
	}
	text, found := "", false
	for _, msg := range list {
		role, _ := objectField(msg, "role")
		content, _ := objectField(msg, "content")
		if role == "user" {
			if s, ok := content.(string); ok {
				text, found = s, true
			}
		}
	}
	if !found {
		return "", fmt.Errorf("%w: chat list without a user message", ErrMissingField)
	}
	return text, nil
}

// scalarText renders strings as is and numbers canonically (5.0 -> "5").
func scalarText(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case json.Number:
		return CanonicalNumber(string(x))
	case float64:
		return formatFloat(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", fmt.Errorf("%w: %s, want string or number", ErrFieldType, jsonKind(v))
}

// CanonicalNumber parses a decimal number and renders it canonically: an
// integer value without fraction ("5.0" -> "5", "-0" -> "0", "1e3" ->
// "1000"), other values in the shortest form that round-trips.
func CanonicalNumber(s string) (string, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("%w: %q is not a finite number", ErrFieldType, s)
	}
	return formatFloat(f), nil
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1<<53 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case json.Number, float64, int64, uint64:
		return "number"
	case bool:
		return "bool"
	case []any:
		return "list"
	case map[string]any, *Object:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// metaText renders the unused fields as a JSON object (keys sorted). A
// string "meta" field holding a JSON object (rlpipe's own files) is kept.
func metaText(row map[string]any, used map[string]bool) (string, error) {
	if m, ok := row[ColMeta]; ok && len(used) > 0 && used[ColPromptID] {
		switch x := m.(type) {
		case string:
			if !json.Valid([]byte(x)) {
				return "", fmt.Errorf("%w: meta is not JSON", ErrInvalidJSON)
			}
			return x, nil
		case map[string]any, *Object:
			b, err := marshalJSON(x)
			return string(b), err
		}
	}
	rest := make(map[string]any, len(row))
	for k, v := range row {
		if !used[k] {
			rest[k] = v
		}
	}
	b, err := marshalJSON(rest)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
