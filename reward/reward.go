package reward

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
)

// Sentinel errors of the reward package. Errors returned by this package wrap
// one of them, so callers can test with errors.Is.
var (
	// ErrConfig marks an invalid reward specification or configuration.
	ErrConfig = errors.New("reward: invalid configuration")
	// ErrUnknown marks a reward name that is not registered.
	ErrUnknown = errors.New("reward: unknown reward")
	// ErrRowFailed marks a batch failed by the on_error: fail policy.
	ErrRowFailed = errors.New("reward: row failed")
	// ErrTooManyErrors marks a batch whose error rate exceeded max_error_rate.
	ErrTooManyErrors = errors.New("reward: error rate above max_error_rate")
	// ErrClosed marks use of a plugin after Close.
	ErrClosed = errors.New("reward: closed")
	// ErrNoAnswer is the message of a KindNoAnswer row: a reward that
	// compares with the reference (math, gsm8k, exact, countdown, regex
	// with {answer}) was given a row whose answer is empty or missing.
	ErrNoAnswer = errors.New("row has no answer")
)

// Row is one completion to score. Meta is the row's extra fields as a JSON
// object (may be empty). CompletionTokens is the completion's length in
// tokens; only length-aware rewards (length) read it.
type Row struct {
	Prompt           string
	Completion       string
	Answer           string
	Meta             string
	CompletionTokens int
}

// ErrorKind classifies a row error for metrics and summaries.
type ErrorKind string

// Error kinds recorded in Result.Kind.
const (
	KindNone      ErrorKind = ""
	KindError     ErrorKind = "error"     // the scorer reported a failure
	KindTimeout   ErrorKind = "timeout"   // the row ran past its deadline
	KindCrash     ErrorKind = "crash"     // a plugin process or server died
	KindMalformed ErrorKind = "malformed" // a plugin reply could not be decoded
	KindNaN       ErrorKind = "nan"       // a reward or part was NaN or ±Inf
	KindCanceled  ErrorKind = "canceled"  // the caller's context ended
	KindNoAnswer  ErrorKind = "no_answer" // the reward needs the row's reference answer and it is empty
)

// Result is the score of one row. Parts holds each named component's value
// before weighting (may be nil). A non-empty Err means the row has no valid
// reward; Kind classifies it (KindError when left empty by a Func). Dropped
// is set by Scorer.ScoreGroups and ScoreBatch under the drop_group policy.
type Result struct {
	Reward  float64
	Parts   map[string]float64
	Err     string
	Kind    ErrorKind
	Dropped bool
}

// Fail sets r to an error result of the given kind and message.
func (r *Result) Fail(kind ErrorKind, format string, args ...any) {
	*r = Result{Err: fmt.Sprintf(format, args...), Kind: kind}
}

// needAnswer reports whether r has a reference answer (not empty or
// blank); if not, it records a KindNoAnswer error on out (without a
// prefix: the Scorer names the part, so "math: row has no answer").
// Rewards that compare with the reference call it, so a row whose answer
// field is missing is an error rather than a silent 0 (or, for exact, a
// silent 1 for an empty completion).
func needAnswer(r *Row, out *Result) bool {
	if strings.TrimSpace(r.Answer) != "" {
		return true
	}
	out.Fail(KindNoAnswer, "%v", ErrNoAnswer)
	return false
}

// OK reports whether r carries a reward rather than an error.
func (r *Result) OK() bool { return r.Err == "" }

// Func scores a batch of rows. Score must fill every out[i] completely
// (len(out) == len(rows); it overwrites whatever out held), recording
// per-row failures in out[i].Err; a returned error means the whole batch
// failed and out is then undefined. Implementations must be safe for
// concurrent use and should return promptly when ctx ends.
type Func interface {
	Score(ctx context.Context, rows []Row, out []Result) error
}

// RowFunc adapts a per-row scoring function to Func. A returned error is
// recorded on the row (KindError); it never fails the batch.
type RowFunc func(ctx context.Context, r Row) (float64, error)

// Score implements Func by calling f once per row.
func (f RowFunc) Score(ctx context.Context, rows []Row, out []Result) error {
	checkLen(rows, out)
	for i := range rows {
		if err := ctx.Err(); err != nil {
			out[i].Fail(KindCanceled, "%v", err)
			continue
		}
		v, err := f(ctx, rows[i])
		if err != nil {
			out[i].Fail(KindError, "%v", err)
			continue
		}
		out[i] = Result{Reward: v}
	}
	return nil
}

// SelfTimed is implemented by Funcs that enforce the per-row timeout
// themselves (the subprocess and HTTP plugins) and so are handed whole
// batches by Scorer. Other Funcs are run one row at a time under a
// Scorer-side deadline.
type SelfTimed interface {
	Func
	SelfTimed() bool
}

func checkLen(rows []Row, out []Result) {
	if len(rows) != len(out) {
		panic(fmt.Sprintf("reward: len(out)=%d != len(rows)=%d", len(out), len(rows)))
	}
}

// checkFinite turns a non-finite reward or part into a KindNaN error.
func checkFinite(r *Result) {
	if r.Err != "" {
		return
	}
	if math.IsNaN(r.Reward) || math.IsInf(r.Reward, 0) {
		r.Fail(KindNaN, "reward is %v", r.Reward)
		return
	}
	for k, v := range r.Parts {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			r.Fail(KindNaN, "part %q is %v", k, v)
			return
		}
	}
}

// Factory builds a Func from its options. Factories are called once per
// configured part; the Func they return may hold resources (processes,
// connections) released by Close when it implements io.Closer.
type Factory func(opts Options) (Func, error)

// Static returns a Factory that ignores options and always returns f.
func Static(f Func) Factory {
	return func(opts Options) (Func, error) {
		if err := opts.Check(); err != nil {
			return nil, err
		}
		return f, nil
	}
}

var registry = struct {
	sync.RWMutex
	m map[string]Factory
}{m: map[string]Factory{}}

// Register makes a reward available by name to specs and configs. It is
// safe for concurrent use and is meant to be called from init or main.
// Register panics if name is empty, contains characters other than letters,
// digits, '_', '-' and '.', or is already registered.
func Register(name string, f Factory) {
	if !validName(name) {
		panic(fmt.Sprintf("reward: Register: invalid name %q", name))
	}
	if f == nil {
		panic("reward: Register: nil factory for " + name)
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic("reward: Register: duplicate name " + name)
	}
	registry.m[name] = f
}

// Lookup returns the factory registered under name.
func Lookup(name string) (Factory, bool) {
	registry.RLock()
	defer registry.RUnlock()
	f, ok := registry.m[name]
	return f, ok
}

// Names returns the registered reward names in sorted order.
func Names() []string {
	registry.RLock()
	defer registry.RUnlock()
	names := make([]string, 0, len(registry.m))
	for n := range registry.m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// New builds the Func registered as kind with opts.
func New(kind string, opts Options) (Func, error) {
	f, ok := Lookup(kind)
	if !ok {
		return nil, fmt.Errorf("%w %q (registered: %v)", ErrUnknown, kind, Names())
	}
	fn, err := f(opts)
	if err != nil {
		return nil, fmt.Errorf("reward %q: %w", kind, err)
	}
	return fn, nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}
