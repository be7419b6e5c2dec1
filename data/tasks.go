package data

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
)

// MaxDifficulty is the highest difficulty of the generated tasks.
const MaxDifficulty = 5

// Meta keys written by generated tasks.
const (
	// MetaKeyCompletion holds the target completion
	// "<think>TRACE</think><answer>SOLUTION</answer>" (SFT target).
	MetaKeyCompletion = "completion"
	// MetaKeySolution holds what goes between <answer> tags: the result for
	// arithmetic, an equation for countdown.
	MetaKeySolution = "solution"
)

// generated is one drawn problem before it becomes an Example.
type generated struct {
	prompt, trace, solution, answer string
	extra                           map[string]any
}

// Example is a generated problem with its worked solution.
type Example struct {
	Prompt
	// Trace is the worked steps that go inside <think></think>.
	Trace string
	// Solution is the text inside <answer></answer> of the target completion.
	Solution string
}

// Completion returns the target completion "<think>Trace</think><answer>Solution</answer>".
func (e Example) Completion() string { return TargetCompletion(e.Trace, e.Solution) }

// EmptyCompletion returns the empty-trace form "<think></think><answer>Solution</answer>".
func (e Example) EmptyCompletion() string { return EmptyTraceCompletion(e.Solution) }

// taskGens maps generated task names to their generators.
var taskGens = map[string]func(*taskRNG, int) generated{
	"arithmetic":    genArithmetic,
	"countdown-gen": genCountdown,
}

// TaskNames lists the generated tasks, sorted.
func TaskNames() []string {
	names := make([]string, 0, len(taskGens))
	for n := range taskGens {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GenerateExamples draws o.N distinct examples of task for split,
// deterministically from (o.Seed, task, draw index) at o.Difficulty. The
// prompt id is PromptID(task, prompt text); SplitTrain keeps examples with
// !IsHeldOut(id, o.HeldOutFraction), SplitTest the others, so the two
// splits never share a prompt text whatever the seeds. Examples are unique
// by prompt text within a call. When the task's space is too small it
// returns fewer than o.N examples (after 50·N+1000 draws) rather than loop.
func GenerateExamples(task string, split Split, opts ...Option) ([]Example, error) {
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	g, err := newExampleGen(task, split, o)
	if err != nil {
		return nil, err
	}
	out := make([]Example, 0, o.N)
	for len(out) < o.N {
		e, ok := g.next()
		if !ok {
			break
		}
		out = append(out, e)
	}
	return out, nil
}

type exampleGen struct {
	task  string
	gen   func(*taskRNG, int) generated
	split Split
	o     Options
	draw  uint64
	limit uint64
	seen  map[uint64]bool
}

func newExampleGen(task string, split Split, o Options) (*exampleGen, error) {
	gen, ok := taskGens[task]
	if !ok {
		return nil, fmt.Errorf("data: unknown task %q (have %v)", task, TaskNames())
	}
	return &exampleGen{task: task, gen: gen, split: split, o: o,
		limit: uint64(50*o.N + 1000), seen: make(map[uint64]bool, o.N)}, nil
}

// next returns the next example of the split, false when the draw budget
// is exhausted.
func (g *exampleGen) next() (Example, bool) {
	for ; g.draw < g.limit; g.draw++ {
		gd := g.gen(newRNG(g.o.Seed, g.task, g.draw), g.o.Difficulty)
		id := PromptID(g.task, gd.prompt)
		if g.seen[id] || !inSplit(id, g.split, g.o.HeldOutFraction) {
			continue
		}
		g.seen[id] = true
		g.draw++
		return g.example(gd, id), true
	}
	return Example{}, false
}

func (g *exampleGen) example(gd generated, id uint64) Example {
	e := Example{Trace: gd.trace, Solution: gd.solution}
	meta := map[string]any{
		"task":            g.task,
		"difficulty":      g.o.Difficulty,
		MetaKeyCompletion: e.Completion(),
		MetaKeySolution:   gd.solution,
	}
	for k, v := range gd.extra {
		meta[k] = v
	}
	b, err := marshalJSON(meta)
	if err != nil {
		panic("data: marshal task meta: " + err.Error())
	}
	dataset := g.task
	if g.o.Dataset != "" {
		dataset = g.o.Dataset
	}
	e.Prompt = Prompt{ID: id, Dataset: dataset, Prompt: gd.prompt, Answer: gd.answer, Meta: string(b)}
	return e
}

// taskReader streams o.N examples of a generated task.
func taskReader(task string, split Split, o Options) (*PromptReader, error) {
	g, err := newExampleGen(task, split, o)
	if err != nil {
		return nil, err
	}
	produced := 0
	next := func(ctx context.Context) ([]Prompt, error) {
		n := min(o.BatchRows, o.N-produced)
		batch := make([]Prompt, 0, max(n, 0))
		for len(batch) < n {
			e, ok := g.next()
			if !ok {
				break
			}
			batch = append(batch, e.Prompt)
		}
		produced += len(batch)
		if len(batch) == 0 {
			return nil, io.EOF
		}
		return batch, nil
	}
	return &PromptReader{name: task + ":" + string(split), next: next}, nil
}

// MetaCompletion returns the target completion stored in a generated
// prompt's Meta (MetaKeyCompletion), and whether there is one.
func MetaCompletion(meta string) (string, bool) {
	var m map[string]any
	if json.Unmarshal([]byte(meta), &m) != nil {
		return "", false
	}
	s, ok := m[MetaKeyCompletion].(string)
	return s, ok
}
