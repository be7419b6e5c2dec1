package pipeline

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/optim"
	"github.com/rlpipe/rlpipe/policy/safetensors"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
	"github.com/rlpipe/rlpipe/rollout"
)

// Files of a policy checkpoint directory.
const (
	ModelFile = "model.safetensors"
	// metaTokenizer is the safetensors metadata key holding the tokenizer spec.
	metaTokenizer = "rlpipe.tokenizer"
	// metaVersion records the rlpipe version that wrote the file.
	metaVersion = "rlpipe.version"
	// metaDiffusion holds a diffusion policy's policy.diffusion settings
	// (canvas and generation) as JSON, so that eval and bench generate on
	// the canvas the policy was trained on.
	metaDiffusion = "rlpipe.diffusion"
	// metaTrainedOn holds the TrainedOn record as JSON.
	metaTrainedOn = "rlpipe.trained_on"
)

// TrainedOn records the data a policy was trained on, so that rlpipe eval
// defaults to the same task and difficulty as the run's own evaluation.
type TrainedOn struct {
	// Train is data.train (a task, a built-in dataset or a file).
	Train string `json:"train"`
	// Difficulty is data.difficulty.
	Difficulty int `json:"difficulty"`
}

// HeldOutSpec returns the held-out dataset spec matching Train: the test
// split of a generated task or built-in dataset, "" for files.
func (t TrainedOn) HeldOutSpec() string {
	name, _, _ := cutSpec(t.Train)
	if slices.Contains(data.TaskNames(), name) || slices.Contains(data.BuiltinNames(), name) {
		return name + ":test"
	}
	return ""
}

// Version is the rlpipe release written into checkpoints and run directories.
const Version = "0.1.0-dev"

// Policy kinds (policy.kind).
const (
	// KindAR is the causal transformer trained with GRPO-family or BVPO
	// objectives.
	KindAR = "ar"
	// KindDiffusion is the masked diffusion LM trained with GDPO.
	KindDiffusion = "diffusion"
)

// Model is what the pipeline needs of any in-process policy model:
// generation (rollout.Model), its parameters for the optimizer, and saving.
// *policy.Model and *policy.DiffusionModel satisfy it.
type Model interface {
	rollout.Model
	Params() []optim.Param
	ZeroGrad()
	Save(path string, meta map[string]string) error
}

// Policy is an in-process policy: the model and the tokenizer saved with it.
type Policy struct {
	Model     Model
	Tokenizer *tokenizer.Tokenizer
	// Diffusion is the canvas and generation setting a diffusion policy was
	// trained with (saved with it); nil for autoregressive policies and for
	// files written before rlpipe recorded it.
	Diffusion *policy.DiffusionConfig
	// TrainedOn is the data the policy was trained on (saved with it); nil
	// for files written before rlpipe recorded it.
	TrainedOn *TrainedOn
}

// DiffusionSettings returns the saved diffusion settings, or for a file
// written before they were saved the defaults of that time (a 32-token
// canvas), which it was trained with unless its run overrode them.
func (p *Policy) DiffusionSettings() policy.DiffusionConfig {
	if p.Diffusion != nil {
		return *p.Diffusion
	}
	return policy.LegacyDiffusionConfig()
}

// meta returns the metadata saved with the policy's weights.
func (p *Policy) meta() (map[string]string, error) {
	meta := map[string]string{metaTokenizer: p.Tokenizer.Spec(), metaVersion: Version}
	if p.Diffusion != nil {
		if err := putJSON(meta, metaDiffusion, p.Diffusion); err != nil {
			return nil, err
		}
	}
	if p.TrainedOn != nil {
		if err := putJSON(meta, metaTrainedOn, p.TrainedOn); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// putJSON stores v as JSON under key.
func putJSON(meta map[string]string, key string, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("pipeline: metadata %s: %w", key, err)
	}
	meta[key] = string(js)
	return nil
}

// getJSON decodes the JSON under key into v; it reports whether key was
// present.
func getJSON(meta map[string]string, path, key string, v any) (bool, error) {
	js, ok := meta[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal([]byte(js), v); err != nil {
		return true, fmt.Errorf("pipeline: %s: metadata %s: %w", path, key, err)
	}
	return true, nil
}

// Kind returns KindAR or KindDiffusion.
func (p *Policy) Kind() string { return modelKind(p.Model) }

func modelKind(m Model) string {
	if _, ok := m.(*policy.DiffusionModel); ok {
		return KindDiffusion
	}
	return KindAR
}

// cloneModel deep-copies a model (a frozen snapshot for rollouts or the KL
// reference).
func cloneModel(m Model) Model {
	switch m := m.(type) {
	case *policy.Model:
		return m.Clone()
	case *policy.DiffusionModel:
		return m.Clone()
	}
	panic(fmt.Sprintf("pipeline: cannot clone %T", m))
}

// NewPolicy builds a freshly initialised policy of the given kind and cfg
// with the byte-level tokenizer; cfg.Vocab must match it.
func NewPolicy(kind string, cfg policy.Config) (*Policy, error) {
	tok := tokenizer.New()
	cfg = cfg.WithDefaults()
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("pipeline: policy.vocab = %d, but the tokenizer has %d tokens", cfg.Vocab, tok.VocabSize())
	}
	switch kind {
	case KindAR, "":
		m, err := policy.NewModel(cfg)
		if err != nil {
			return nil, err
		}
		return &Policy{Model: m, Tokenizer: tok}, nil
	case KindDiffusion:
		m, err := policy.NewDiffusionModel(cfg)
		if err != nil {
			return nil, err
		}
		return &Policy{Model: m, Tokenizer: tok}, nil
	}
	return nil, fmt.Errorf("%w: policy.kind %q (want %s or %s)", ErrConfig, kind, KindAR, KindDiffusion)
}

// loadModel reads a model file of either kind, dispatching on its
// metadata.
func loadModel(path string) (Model, map[string]string, error) {
	_, meta, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	if meta[policy.MetaModelKind] == policy.ModelKindDiffusion {
		return policy.LoadDiffusion(path)
	}
	return policy.Load(path)
}

// Save writes the policy's weights, model config and tokenizer into
// dir/model.safetensors atomically.
func (p *Policy) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	meta, err := p.meta()
	if err != nil {
		return err
	}
	return p.Model.Save(filepath.Join(dir, ModelFile), meta)
}

// LoadPolicy reads a policy saved by Save from dir (a checkpoint directory or
// a run directory whose checkpoints/latest names one).
func LoadPolicy(dir string) (*Policy, error) {
	path, err := resolveModelPath(dir)
	if err != nil {
		return nil, err
	}
	m, meta, err := loadModel(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromSpec(meta[metaTokenizer])
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	pol := &Policy{Model: m, Tokenizer: tok}
	if pol.Kind() == KindDiffusion {
		var d policy.DiffusionConfig
		if ok, err := getJSON(meta, path, metaDiffusion, &d); err != nil {
			return nil, err
		} else if ok {
			if err := d.Validate(); err != nil {
				return nil, fmt.Errorf("pipeline: %s: metadata %s: %w", path, metaDiffusion, err)
			}
			pol.Diffusion = &d
		}
	}
	var t TrainedOn
	if ok, err := getJSON(meta, path, metaTrainedOn, &t); err != nil {
		return nil, err
	} else if ok {
		pol.TrainedOn = &t
	}
	return pol, nil
}

func resolveModelPath(dir string) (string, error) {
	candidates := []string{filepath.Join(dir, ModelFile)}
	if latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest")); err == nil {
		candidates = append(candidates, filepath.Join(dir, "checkpoints", trimSpace(string(latest)), ModelFile))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", fmt.Errorf("pipeline: no %s in %s (nor in its checkpoints/latest)", ModelFile, dir)
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == ' ' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}

// promptRenderer adapts a data.Template to rollout.Renderer.
type promptRenderer struct{ tmpl data.Template }

func (r promptRenderer) Render(p data.Prompt, mode uint8) string {
	return r.tmpl.Render(p.Prompt, mode).Text
}
