package reward

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
)

// wireRequest is one row on the plugin wire (PROTOCOL.md).
type wireRequest struct {
	ID               uint64          `json:"id"`
	Prompt           string          `json:"prompt"`
	Completion       string          `json:"completion"`
	Answer           string          `json:"answer"`
	Meta             json.RawMessage `json:"meta"`
	CompletionTokens int             `json:"completion_tokens,omitempty"`
}

func newWireRequest(id uint64, r *Row) wireRequest {
	return wireRequest{ID: id, Prompt: r.Prompt, Completion: r.Completion, Answer: r.Answer,
		Meta: metaJSON(r.Meta), CompletionTokens: r.CompletionTokens}
}

// metaJSON sends a JSON-object meta as is and anything else as a string.
func metaJSON(m string) json.RawMessage {
	t := strings.TrimSpace(m)
	if t == "" {
		return json.RawMessage("{}")
	}
	if t[0] == '{' && json.Valid([]byte(t)) {
		return json.RawMessage(t)
	}
	b, _ := json.Marshal(m)
	return b
}

// wireReply is one result on the plugin wire.
type wireReply struct {
	ID     json.RawMessage            `json:"id"`
	Reward json.RawMessage            `json:"reward"`
	Parts  map[string]json.RawMessage `json:"parts"`
	Error  *string                    `json:"error"`
}

// unmarshalNonFinite decodes JSON into v, accepting the bare NaN and
// ±Infinity literals Python's json module writes (not JSON) by quoting
// them, so that the row gets a nan error instead of the whole line or body
// being malformed. Valid JSON is decoded as is.
func unmarshalNonFinite(data []byte, v any) error {
	err := json.Unmarshal(data, v)
	if err == nil || !bytes.Contains(data, []byte("NaN")) && !bytes.Contains(data, []byte("Infinity")) {
		return err
	}
	if json.Unmarshal(quoteNonFinite(data), v) == nil {
		return nil
	}
	return err
}

// quoteNonFinite returns data with every NaN, Infinity and -Infinity
// outside JSON strings quoted; the contents of strings are left alone.
func quoteNonFinite(data []byte) []byte {
	out := make([]byte, 0, len(data)+16)
	inString := false
	for i := 0; i < len(data); i++ {
		c := data[i]
		if inString {
			out = append(out, c)
			if c == '\\' && i+1 < len(data) {
				i++
				out = append(out, data[i])
			} else if c == '"' {
				inString = false
			}
			continue
		}
		if lit := nonFiniteAt(data[i:]); lit != "" {
			out = append(append(append(out, '"'), lit...), '"')
			i += len(lit) - 1
			continue
		}
		inString = c == '"'
		out = append(out, c)
	}
	return out
}

// nonFiniteAt returns the non-finite literal data starts with, or "".
func nonFiniteAt(data []byte) string {
	for _, lit := range []string{"NaN", "Infinity", "-Infinity"} {
		if bytes.HasPrefix(data, []byte(lit)) {
			return lit
		}
	}
	return ""
}

func decodeReply(line []byte) (wireReply, uint64, error) {
	var rep wireReply
	if err := unmarshalNonFinite(line, &rep); err != nil {
		return rep, 0, err
	}
	id, err := strconv.ParseUint(strings.Trim(string(rep.ID), `"`), 10, 64)
	if err != nil {
		return rep, 0, fmt.Errorf("reply id %s: not an unsigned integer", rep.ID)
	}
	return rep, id, nil
}

// fill converts a decoded reply into a row result.
func (rep *wireReply) fill(out *Result, who string) {
	if rep.Error != nil {
		out.Fail(KindError, "%s: %s", who, *rep.Error)
		return
	}
	if len(rep.Reward) == 0 || string(rep.Reward) == "null" {
		out.Fail(KindMalformed, "%s: reply has neither reward nor error", who)
		return
	}
	v, err := wireFloat(rep.Reward)
	if err != nil {
		out.Fail(KindMalformed, "%s: reward: %v", who, err)
		return
	}
	*out = Result{Reward: v}
	for k, raw := range rep.Parts {
		pv, err := wireFloat(raw)
		if err != nil {
			out.Fail(KindMalformed, "%s: part %q: %v", who, k, err)
			return
		}
		if out.Parts == nil {
			out.Parts = make(map[string]float64, len(rep.Parts))
		}
		out.Parts[k] = pv
	}
	checkFinite(out)
	if out.Err != "" {
		out.Err = who + ": " + out.Err
	}
}

func wireFloat(raw json.RawMessage) (float64, error) {
	switch strings.Trim(string(raw), `"`) {
	case "NaN":
		return math.NaN(), nil
	case "Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	var v float64
	if err := json.Unmarshal(raw, &v); err != nil {
		return 0, fmt.Errorf("%s is not a number", clip(string(raw), 40))
	}
	return v, nil
}

// tailBuffer keeps the last n bytes written to it (a plugin's stderr).
type tailBuffer struct {
	mu  sync.Mutex
	n   int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.n {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.n:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.buf))
}

// splitCommand splits a command line on spaces, honouring single and
// double quotes and backslash escapes (no other shell syntax).
func splitCommand(s string) ([]string, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0 && c == quote:
			quote = 0
		case quote != '\'' && c == '\\' && i+1 < len(s):
			i++
			cur.WriteByte(s[i])
			inArg = true
		case quote != 0:
			cur.WriteByte(c)
		case c == '\'' || c == '"':
			quote, inArg = c, true
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated %c quote in command %q", quote, s)
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}
