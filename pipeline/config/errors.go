package config

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownKey is wrapped by the *Error of a key that names no field.
var ErrUnknownKey = errors.New("unknown key")

// Error is a configuration error located by its source (a file name or the
// `--set` argument), YAML line (0 when unknown) and dotted key path. Every
// error from Load is an *Error; cmd/rlpipe exits with status 2 on one.
type Error struct {
	Source string
	Line   int
	Path   string
	Err    error
}

// Error formats as `config: run.yaml:12: rollout.temperature: cause`, or
// `config: run.yaml:12: unknown key "rollout.temprature"` for unknown keys.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("config: ")
	if e.Source != "" {
		b.WriteString(e.Source)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	}
	if errors.Is(e.Err, ErrUnknownKey) {
		fmt.Fprintf(&b, "unknown key %q", e.Path)
		if s := strings.TrimPrefix(e.Err.Error(), ErrUnknownKey.Error()); s != "" {
			b.WriteString(s)
		}
		return b.String()
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// unknownKey builds the error of an unknown key, suggesting the closest
// known key when one is within two edits.
func unknownKey(key string, known []string) error {
	best, bestD := "", 3
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ErrUnknownKey
	}
	return fmt.Errorf("%w (did you mean %q?)", ErrUnknownKey, best)
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
