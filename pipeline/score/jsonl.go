package score

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/reward"
)

// jsonlSource reads JSON objects, one a line.
type jsonlSource struct {
	sc     *bufio.Scanner
	name   string
	closer io.Closer
	line   int
}

func newJSONLSource(r io.Reader, name string, c io.Closer) *jsonlSource {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 256<<20)
	return &jsonlSource{sc: sc, name: name, closer: c}
}

func (s *jsonlSource) close() {
	if s.closer != nil {
		s.closer.Close()
	}
}

func (s *jsonlSource) next(n int) (*batch, error) {
	b := &batch{line0: s.line + 1}
	gid := map[string]int{}
	for len(b.rows) < n && s.sc.Scan() {
		s.line++
		line := strings.TrimSpace(s.sc.Text())
		if line == "" {
			continue
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &raw); err != nil {
			return nil, usageErrorf("score: %s line %d: %v", s.name, s.line, err)
		}
		row, err := jsonRow(raw)
		if err != nil {
			return nil, usageErrorf("score: %s line %d: %v", s.name, s.line, err)
		}
		key := string(raw["group"])
		if key == "" {
			key = string(raw[data.ColPromptID])
		}
		if key == "" {
			key = fmt.Sprint("line:", s.line)
		}
		if _, ok := gid[key]; !ok {
			gid[key] = len(gid)
		}
		b.rows = append(b.rows, row)
		b.groups = append(b.groups, gid[key])
		b.raws = append(b.raws, raw)
	}
	if err := s.sc.Err(); err != nil {
		return nil, fmt.Errorf("score: read %s: %w", s.name, err)
	}
	if len(b.rows) == 0 {
		return nil, nil
	}
	return b, nil
}

// jsonRow reads a row's fields; meta may be an object or a string.
func jsonRow(raw map[string]json.RawMessage) (reward.Row, error) {
	var r reward.Row
	for _, f := range []struct {
		key string
		dst *string
	}{{data.ColPrompt, &r.Prompt}, {data.ColCompletion, &r.Completion}, {data.ColAnswer, &r.Answer}} {
		v, ok := raw[f.key]
		if !ok || string(v) == "null" {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			// Non-string answers (numbers) are kept as their JSON text.
			*f.dst = strings.TrimSpace(string(v))
		}
	}
	if _, ok := raw[data.ColCompletion]; !ok {
		return r, fmt.Errorf("field %q: missing", data.ColCompletion)
	}
	if m, ok := raw[data.ColMeta]; ok && string(m) != "null" {
		if err := json.Unmarshal(m, &r.Meta); err != nil {
			r.Meta = string(m)
		}
	}
	if t, ok := raw[data.ColCompletionTokens]; ok {
		var n int
		var list []json.RawMessage
		if err := json.Unmarshal(t, &n); err == nil {
			r.CompletionTokens = n
		} else if err := json.Unmarshal(t, &list); err == nil {
			r.CompletionTokens = len(list)
		} else {
			return r, fmt.Errorf("field %q: want an integer or a list", data.ColCompletionTokens)
		}
	}
	return r, nil
}

// jsonlSink writes each input object with reward, parts, error (and
// error_kind, dropped when set) added.
type jsonlSink struct {
	w *bufio.Writer
	f *os.File
}

func (s *jsonlSink) write(b *batch, res []reward.Result) error {
	for i, r := range res {
		obj := map[string]any{}
		if b.raws != nil {
			for k, v := range b.raws[i] {
				obj[k] = v
			}
		} else {
			row := b.rows[i]
			obj[data.ColPrompt], obj[data.ColCompletion], obj[data.ColAnswer], obj[data.ColMeta] = row.Prompt, row.Completion, row.Answer, row.Meta
		}
		obj["reward"], obj["parts"], obj["error"] = r.Reward, r.Parts, nil
		if r.Parts == nil {
			obj["parts"] = map[string]float64{}
		}
		if r.Err != "" {
			obj["error"], obj["error_kind"] = r.Err, r.Kind
		}
		if r.Dropped {
			obj["dropped"] = true
		}
		if b.explain != nil {
			obj["explain"] = b.explain[i]
		}
		enc := json.NewEncoder(s.w)
		enc.SetEscapeHTML(false) // keep <answer> tags readable
		if err := enc.Encode(obj); err != nil {
			return err
		}
	}
	return s.w.Flush()
}

func (s *jsonlSink) close() error {
	err := s.w.Flush()
	if s.f != nil {
		if cerr := s.f.Close(); err == nil {
			err = cerr
		}
	}
	return err
}
