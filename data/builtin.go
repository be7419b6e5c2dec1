package data

import (
	"context"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// shipped holds the datasets copied into the repository with their
// licenses, so a fresh clone works offline.
//
//go:embed datasets
var shipped embed.FS

// ShippedFS returns the embedded datasets directory tree
// (datasets/{gsm8k,math500,svamp,countdown,verl-format}/...).
func ShippedFS() fs.FS { return shipped }

// builtin describes one shipped dataset: its files per split (a dataset
// with only SplitAll is split by IsHeldOut; math500 is test-only) and its row adapter.
type builtin struct {
	files   map[Split]string
	def     Split
	adapt   func(row map[string]any, key string) (Prompt, error)
	keyName string // field used as row key; "" means "<split>:<row>"
}

var builtins = map[string]builtin{
	"gsm8k": {
		files: map[Split]string{SplitTrain: "datasets/gsm8k/train.jsonl", SplitTest: "datasets/gsm8k/test.jsonl"},
		def:   SplitTrain, adapt: adaptGSM8K,
	},
	"math500": {
		files: map[Split]string{SplitAll: "datasets/math500/test.jsonl", SplitTest: "datasets/math500/test.jsonl"},
		def:   SplitTest, adapt: adaptMATH, keyName: "unique_id",
	},
	"svamp":     {files: map[Split]string{SplitAll: "datasets/svamp/SVAMP.json"}, def: SplitAll, adapt: adaptSVAMP, keyName: "ID"},
	"countdown": {files: map[Split]string{SplitAll: "datasets/countdown/countdown_cd3_test.jsonl"}, def: SplitAll, adapt: adaptCountdown},
}

// BuiltinNames lists the shipped dataset names, sorted.
func BuiltinNames() []string {
	names := make([]string, 0, len(builtins))
	for n := range builtins {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func openBuiltin(name string, split Split, o Options) (*PromptReader, error) {
	b := builtins[name]
	file, hashSplit := b.files[split], false
	if file == "" {
		// Only datasets without a shipped test file are split by hash;
		// others would leak test rows into a hashed train split.
		if b.files[SplitTest] != "" {
			return nil, fmt.Errorf("data: dataset %q has no %s split", name, split)
		}
		file, hashSplit = b.files[SplitAll], true
	}
	f, err := shipped.Open(file)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	display := strings.TrimPrefix(file, "datasets/")
	sc, isArray := newJSONScanner(display, f)
	dataset := name
	if o.Dataset != "" {
		dataset = o.Dataset
	}
	next := func(ctx context.Context) ([]Prompt, error) {
		batch := make([]Prompt, 0, min(o.BatchRows, 256))
		for len(batch) < o.BatchRows {
			row, err := sc.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, err
			}
			key := string(split) + ":" + strconv.Itoa(row.num)
			if k, ok := row.obj[b.keyName].(string); ok && b.keyName != "" {
				key = k
			}
			p, err := b.adapt(row.obj, key)
			if err != nil {
				return nil, &RowError{File: display, Row: row.num, Line: !isArray, Err: err}
			}
			p.Dataset, p.ID = dataset, PromptID(name, key)
			if hashSplit && !inSplit(p.ID, split, o.HeldOutFraction) {
				continue
			}
			batch = append(batch, p)
		}
		if len(batch) == 0 {
			return nil, io.EOF
		}
		return batch, nil
	}
	return &PromptReader{name: name + ":" + string(split), next: next, close: f.Close}, nil
}

// fieldString returns row[key] as text, wrapping errors with the field name.
func fieldString(row map[string]any, key string) (string, error) {
	v, ok := row[key]
	if !ok || v == nil {
		return "", fmt.Errorf("field %q: %w", key, ErrMissingField)
	}
	s, err := scalarText(v)
	if err != nil {
		return "", fmt.Errorf("field %q: %w", key, err)
	}
	return s, nil
}

func metaOf(row map[string]any, drop ...string) string {
	rest := make(map[string]any, len(row))
	for k, v := range row {
		rest[k] = v
	}
	for _, d := range drop {
		delete(rest, d)
	}
	b, err := marshalJSON(rest)
	if err != nil {
		panic("data: marshal meta: " + err.Error())
	}
	return string(b)
}

// adaptGSM8K: prompt = question, answer = the number after "####", the
// full worked answer kept in meta as "solution".
func adaptGSM8K(row map[string]any, _ string) (Prompt, error) {
	q, err := fieldString(row, "question")
	if err != nil {
		return Prompt{}, err
	}
	full, err := fieldString(row, "answer")
	if err != nil {
		return Prompt{}, err
	}
	ans, err := ParseGSM8KAnswer(full)
	if err != nil {
		return Prompt{}, fmt.Errorf("field %q: %w", "answer", err)
	}
	meta, _ := marshalJSON(map[string]any{MetaKeySolution: full})
	return Prompt{Prompt: q, Answer: ans, Meta: string(meta)}, nil
}

// adaptMATH: prompt = problem, answer = answer; subject, level, unique_id
// and solution go to meta.
func adaptMATH(row map[string]any, _ string) (Prompt, error) {
	q, err := fieldString(row, "problem")
	if err != nil {
		return Prompt{}, err
	}
	a, err := fieldString(row, "answer")
	if err != nil {
		return Prompt{}, err
	}
	return Prompt{Prompt: q, Answer: a, Meta: metaOf(row, "problem", "answer")}, nil
}

// adaptSVAMP: prompt = Body + " " + Question, answer = canonical Answer.
func adaptSVAMP(row map[string]any, _ string) (Prompt, error) {
	body, err := fieldString(row, "Body")
	if err != nil {
		return Prompt{}, err
	}
	q, err := fieldString(row, "Question")
	if err != nil {
		return Prompt{}, err
	}
	raw, err := fieldString(row, "Answer")
	if err != nil {
		return Prompt{}, err
	}
	a, err := ParseSVAMPAnswer(raw)
	if err != nil {
		return Prompt{}, fmt.Errorf("field %q: %w", "Answer", err)
	}
	prompt := strings.TrimSpace(body)
	if !strings.HasSuffix(prompt, ".") && !strings.HasSuffix(prompt, "?") {
		prompt += "."
	}
	return Prompt{Prompt: prompt + " " + strings.TrimSpace(q), Answer: a, Meta: metaOf(row, "Body", "Question", "Answer")}, nil
}

// adaptCountdown: input "30,100,93" and output "23" become
// CountdownPrompt; answer = target; meta holds numbers and target.
func adaptCountdown(row map[string]any, _ string) (Prompt, error) {
	in, err := fieldString(row, "input")
	if err != nil {
		return Prompt{}, err
	}
	nums, err := ParseCountdownNumbers(in)
	if err != nil {
		return Prompt{}, fmt.Errorf("field %q: %w", "input", err)
	}
	out, err := fieldString(row, "output")
	if err != nil {
		return Prompt{}, err
	}
	target, err := strconv.Atoi(strings.TrimSpace(out))
	if err != nil {
		return Prompt{}, fmt.Errorf("field %q: %w: %q", "output", ErrFieldType, out)
	}
	meta, _ := marshalJSON(map[string]any{"task": "countdown", "numbers": nums, "target": target})
	return Prompt{Prompt: CountdownPrompt(nums, target), Answer: strconv.Itoa(target), Meta: string(meta)}, nil
}
