package policyfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/tokenizer"
)

// ModelFile is the weights file of a policy directory.
const ModelFile = "model.safetensors"

// Metadata keys of ModelFile beyond the model family's own.
const (
	// MetaTokenizer holds the tokenizer spec (tokenizer.FromSpec).
	MetaTokenizer = "rlpipe.tokenizer"
	// MetaVersion records the rlpipe version that wrote the file.
	MetaVersion = "rlpipe.version"
	// MetaDiffusion holds a diffusion policy's policy.diffusion settings
	// (canvas and generation) as JSON, so that eval and bench generate on
	// the canvas the policy was trained on.
	MetaDiffusion = "rlpipe.diffusion"
	// MetaTrainedOn holds the TrainedOn record as JSON.
	MetaTrainedOn = "rlpipe.trained_on"
)

// Version is the rlpipe release written into policy files (and, by
// pipeline, into run directories).
const Version = "0.1.0-dev"

// ErrFormat marks a policy directory or file that cannot be read as one.
var ErrFormat = errors.New("policyfile: not a policy")

// TrainedOn records the data a policy was trained on, so that rlpipe eval
// defaults to the same task and difficulty as the run's own evaluation.
type TrainedOn struct {
	// Train is data.train (a task, a built-in dataset or a file).
	Train string `json:"train"`
	// Difficulty is data.difficulty.
	Difficulty int `json:"difficulty"`
}

// Policy is an in-process policy: the model and the tokenizer saved with
// it, plus what the file records about how it was trained. It is not safe
// for concurrent use beyond what Model allows.
type Policy struct {
	Model     policy.Trainable
	Tokenizer Tokenizer
	// Diffusion is the canvas and generation setting a diffusion policy was
	// trained with (saved with it); nil for autoregressive policies and for
	// files written before rlpipe recorded it.
	Diffusion *policy.DiffusionConfig
	// TrainedOn is the data the policy was trained on (saved with it); nil
	// for files written before rlpipe recorded it.
	TrainedOn *TrainedOn
	// Chat is the model's own chat template, used by PromptRenderer with
	// data.template chat; nil for rlpipe's byte-level policies, which read
	// the data template's text.
	Chat ChatTemplate

	// files are the pretrained model's files carried unchanged into every
	// save (SaveSidecars).
	files map[string][]byte
}

// New builds a freshly initialised policy of the given kind ("" is
// policy.KindAR) and cfg with the byte-level tokenizer; cfg.Vocab must
// match it.
func New(kind string, cfg policy.Config) (*Policy, error) {
	tok := tokenizer.New()
	cfg = cfg.WithDefaults()
	if cfg.Vocab != tok.VocabSize() {
		return nil, fmt.Errorf("%w: policy.vocab = %d, but the tokenizer has %d tokens", policy.ErrConfig, cfg.Vocab, tok.VocabSize())
	}
	m, err := policy.NewTrainable(kind, cfg)
	if err != nil {
		return nil, err
	}
	return &Policy{Model: m, Tokenizer: tok}, nil
}

// Kind returns the model's family (policy.KindAR, policy.KindDiffusion).
func (p *Policy) Kind() string { return p.Model.Kind() }

// DiffusionSettings returns the saved diffusion settings, or for a file
// written before they were saved the defaults of that time (a 32-token
// canvas), which it was trained with unless its run overrode them.
func (p *Policy) DiffusionSettings() policy.DiffusionConfig {
	if p.Diffusion != nil {
		return *p.Diffusion
	}
	return policy.LegacyDiffusionConfig()
}

// Meta returns the metadata saved with the policy's weights (also by
// checkpoints that save a snapshot of them).
func (p *Policy) Meta() (map[string]string, error) {
	meta := map[string]string{MetaVersion: Version}
	if bt, err := p.ByteTokenizer(); err == nil {
		meta[MetaTokenizer] = bt.Spec()
	}
	if p.Diffusion != nil {
		if err := putJSON(meta, MetaDiffusion, p.Diffusion); err != nil {
			return nil, err
		}
	}
	if p.TrainedOn != nil {
		if err := putJSON(meta, MetaTrainedOn, p.TrainedOn); err != nil {
			return nil, err
		}
	}
	return meta, nil
}

// Save writes the policy's weights, model config and tokenizer into
// dir/model.safetensors atomically, creating dir.
func (p *Policy) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("policyfile: %w", err)
	}
	meta, err := p.Meta()
	if err != nil {
		return err
	}
	if err := p.Model.Save(filepath.Join(dir, ModelFile), meta); err != nil {
		return err
	}
	_, err = p.SaveSidecars(dir)
	return err
}

// Load reads a policy saved by Save from dir (a policy directory, or a run
// directory whose checkpoints/latest names one), whatever its family.
//
// A Hugging Face model directory (config.json beside the weights) loads as
// the hf family with its own tokenizer and chat template: a pretrained
// model from the hub (model.safetensors or shards, F32/BF16/F16) or a
// checkpoint of an hf run.
//
// When the directory holding the weights has a MANIFEST (a checkpoint of
// rlpipe run), every file it lists is verified first (CheckManifest) and a
// mismatch is an error wrapping ErrCorrupt that names the file and both
// sha256 sums; a directory without one (Save's output, a Hugging Face
// download) loads unverified.
func Load(dir string) (*Policy, error) {
	path, err := resolveModelPath(dir)
	if err != nil {
		return nil, err
	}
	if _, err := CheckManifest(filepath.Dir(path)); err != nil {
		return nil, err
	}
	if d := filepath.Dir(path); policy.IsHFDir(d) {
		return loadHF(d)
	}
	m, meta, err := policy.LoadTrainable(path)
	if err != nil {
		return nil, err
	}
	tok, err := tokenizer.FromSpec(meta[MetaTokenizer])
	if err != nil {
		return nil, fmt.Errorf("policyfile: %s: %w", path, err)
	}
	pol := &Policy{Model: m, Tokenizer: tok}
	if err := pol.readMeta(meta, path); err != nil {
		return nil, err
	}
	return pol, nil
}

// readMeta reads the diffusion settings and the training data recorded in
// the metadata of the weights file at path.
func (pol *Policy) readMeta(meta map[string]string, path string) error {
	if pol.Kind() == policy.KindDiffusion {
		var d policy.DiffusionConfig
		if ok, err := getJSON(meta, path, MetaDiffusion, &d); err != nil {
			return err
		} else if ok {
			if err := d.Validate(); err != nil {
				return fmt.Errorf("policyfile: %s: metadata %s: %w", path, MetaDiffusion, err)
			}
			pol.Diffusion = &d
		}
	}
	var t TrainedOn
	if ok, err := getJSON(meta, path, MetaTrainedOn, &t); err != nil {
		return err
	} else if ok {
		pol.TrainedOn = &t
	}
	return nil
}

// putJSON stores v as JSON under key.
func putJSON(meta map[string]string, key string, v any) error {
	js, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("policyfile: metadata %s: %w", key, err)
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
		return true, fmt.Errorf("policyfile: %s: metadata %s: %w", path, key, err)
	}
	return true, nil
}

// resolveModelPath finds ModelFile in dir or in the checkpoint its
// checkpoints/latest names.
func resolveModelPath(dir string) (string, error) {
	candidates := []string{filepath.Join(dir, ModelFile)}
	if latest, err := os.ReadFile(filepath.Join(dir, "checkpoints", "latest")); err == nil {
		candidates = append(candidates, filepath.Join(dir, "checkpoints", strings.TrimRight(string(latest), "\n \r"), ModelFile))
	}
	for _, c := range candidates {
		if _, err := os.Stat(c); err == nil || policy.IsHFDir(filepath.Dir(c)) {
			return c, nil // a sharded Hugging Face model has no single file
		}
	}
	return "", fmt.Errorf("%w: no %s in %s (nor in its checkpoints/latest)", ErrFormat, ModelFile, dir)
}
