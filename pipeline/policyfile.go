package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// Files of a policy checkpoint directory.
const (
	ModelFile = "model.safetensors"
	// metaTokenizer is the safetensors metadata key holding the tokenizer spec.
	metaTokenizer = "rlpipe.tokenizer"
	// metaVersion records the rlpipe version that wrote the file.
	metaVersion = "rlpipe.version"
)

// Version is the rlpipe release written into checkpoints and run directories.
const Version = "0.1.0-dev"

// Policy is an in-process policy: the model and the tokenizer saved with it.
type Policy struct {
	Model     *policy.Model
	Tokenizer *tokenizer.Tokenizer
}

// NewPolicy builds a freshly initialised policy of cfg with the byte-level
// tokenizer; cfg.Vocab must match it.
func NewPolicy(cfg policy.Config) (*Policy, error) {
	tok := tokenizer.New()
	cfg = cfg.WithDefaults()
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("pipeline: policy.vocab = %d, but the tokenizer has %d tokens", cfg.Vocab, tok.VocabSize())
	}
	m, err := policy.NewModel(cfg)
	if err != nil {
		return nil, err
	}
	return &Policy{Model: m, Tokenizer: tok}, nil
}

// Save writes the policy's weights, model config and tokenizer into
// dir/model.safetensors atomically.
func (p *Policy) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	meta := map[string]string{metaTokenizer: p.Tokenizer.Spec(), metaVersion: Version}
	return p.Model.Save(filepath.Join(dir, ModelFile), meta)
}

// LoadPolicy reads a policy saved by Save from dir (a checkpoint directory or
// a run directory whose checkpoints/latest names one).
func LoadPolicy(dir string) (*Policy, error) {
	path, err := resolveModelPath(dir)
	if err != nil {
		return nil, err
	}
	m, meta, err := policy.Load(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromSpec(meta[metaTokenizer])
	if err != nil {
		return nil, fmt.Errorf("pipeline: %s: %w", path, err)
	}
	return &Policy{Model: m, Tokenizer: tok}, nil
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
