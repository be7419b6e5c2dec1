package policy

import (
	"fmt"
	"slices"
	"sync"

	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// Family is one kind of Trainable: how to build a fresh one and how to
// read one back from a file. Adding a model family means implementing
// Trainable (and the capability interfaces its learners need) and
// registering a Family; nothing outside the family's own files dispatches
// on its type.
type Family struct {
	// Kind is the policy.kind name and Trainable.Kind's value.
	Kind string
	// FileKind is the MetaModelKind value its files carry; the family whose
	// FileKind is ModelKindAutoregressive also reads files without one.
	FileKind string
	// New builds a freshly initialised model for cfg; nil when the family
	// only loads (e.g. pretrained weights).
	New func(cfg Config) (Trainable, error)
	// Load reads a model written by its Save and returns the file's
	// metadata.
	Load func(path string) (Trainable, map[string]string, error)
}

var (
	familiesMu sync.RWMutex
	families   = map[string]Family{}
)

func init() {
	RegisterFamily(Family{Kind: KindAR, FileKind: ModelKindAutoregressive, New: newAs(NewModel), Load: loadAs(Load)})
	RegisterFamily(Family{Kind: KindDiffusion, FileKind: ModelKindDiffusion, New: newAs(NewDiffusionModel), Load: loadAs(LoadDiffusion)})
}

// newAs adapts a family's constructor to Family.New.
func newAs[M Trainable](f func(Config) (M, error)) func(Config) (Trainable, error) {
	return func(cfg Config) (Trainable, error) {
		m, err := f(cfg)
		if err != nil {
			return nil, err // not a typed nil in the interface
		}
		return m, nil
	}
}

// loadAs adapts a family's loader to Family.Load.
func loadAs[M Trainable](f func(string) (M, map[string]string, error)) func(string) (Trainable, map[string]string, error) {
	return func(path string) (Trainable, map[string]string, error) {
		m, meta, err := f(path)
		if err != nil {
			return nil, nil, err
		}
		return m, meta, nil
	}
}

// RegisterFamily makes f's kind available to NewTrainable and its files to
// LoadTrainable. It panics if f has no Kind, FileKind or Load, or if the
// kind or file kind is taken (programmer errors, as registration runs from
// init functions).
func RegisterFamily(f Family) {
	if f.Kind == "" || f.FileKind == "" || f.Load == nil {
		panic("policy: RegisterFamily needs Kind, FileKind and Load")
	}
	familiesMu.Lock()
	defer familiesMu.Unlock()
	for _, g := range families {
		if g.Kind == f.Kind || g.FileKind == f.FileKind {
			panic(fmt.Sprintf("policy: family %q (files %q) registered twice", f.Kind, f.FileKind))
		}
	}
	families[f.Kind] = f
}

// Kinds returns the registered policy kinds, sorted.
func Kinds() []string {
	familiesMu.RLock()
	defer familiesMu.RUnlock()
	out := make([]string, 0, len(families))
	for k := range families {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// NewTrainable builds a freshly initialised model of the given kind ("" is
// KindAR). An unknown kind, or one that cannot be built fresh, is an
// ErrConfig.
func NewTrainable(kind string, cfg Config) (Trainable, error) {
	if kind == "" {
		kind = KindAR
	}
	familiesMu.RLock()
	f, ok := families[kind]
	familiesMu.RUnlock()
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: policy kind %q (have %v)", ErrConfig, kind, Kinds())
	case f.New == nil:
		return nil, fmt.Errorf("%w: policy kind %q cannot be initialised fresh; set policy.init to a checkpoint or a Hugging Face model directory", ErrConfig, kind)
	}
	return f.New(cfg)
}

// LoadTrainable reads a model file of any registered family, dispatching
// on its MetaModelKind (absent means autoregressive), and returns it with
// the file's metadata. Cost: the file is read twice (once for the
// metadata).
func LoadTrainable(path string) (Trainable, map[string]string, error) {
	_, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	fileKind := meta[MetaModelKind]
	if fileKind == "" {
		fileKind = ModelKindAutoregressive
	}
	familiesMu.RLock()
	var load func(string) (Trainable, map[string]string, error)
	for _, f := range families {
		if f.FileKind == fileKind {
			load = f.Load
		}
	}
	familiesMu.RUnlock()
	if load == nil {
		return nil, nil, fmt.Errorf("%w: load %s: unknown model kind %q", ErrConfig, path, fileKind)
	}
	return load(path)
}
