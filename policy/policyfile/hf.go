package policyfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/chattemplate"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/safetensors"
	"github.com/rlpipe/rlpipe/policy/tokenizer/hftok"
)

// GenerationConfigFile is transformers' generation defaults, copied
// unchanged from a pretrained model into its checkpoints.
const GenerationConfigFile = "generation_config.json"

// sidecarFiles are the files of a Hugging Face model directory that a
// policy carries unchanged into every directory it is saved to.
var sidecarFiles = []string{hftok.TokenizerFile, hftok.ConfigFile, GenerationConfigFile, chattemplate.TemplateFile}

// hfTokenizer is a pretrained model's tokenizer as a policy Tokenizer.
type hfTokenizer struct {
	*hftok.Tokenizer
	end int32
}

// EndOfCompletion is the tokenizer's eos_token (a chat model's end of
// turn, such as <|im_end|> or <|eot_id|>).
func (t hfTokenizer) EndOfCompletion() int32 { return t.end }

// chatTemplate adapts a chattemplate.Template to ChatTemplate.
type chatTemplate struct{ t *chattemplate.Template }

func (c chatTemplate) RenderChat(msgs []data.ChatMessage, gen bool) (string, error) {
	in := make([]chattemplate.Message, len(msgs))
	for i, m := range msgs {
		in[i] = chattemplate.Message{Role: m.Role, Content: m.Content}
	}
	return c.t.Render(in, chattemplate.Options{AddGenerationPrompt: gen})
}

// loadHF reads a policy from a Hugging Face model directory: a pretrained
// model as downloaded from the hub, or a checkpoint rlpipe wrote (whose
// model.safetensors carries rlpipe's metadata), with its tokenizer, chat
// template and generation config.
func loadHF(dir string) (*Policy, error) {
	var (
		m    policy.Trainable
		meta map[string]string
	)
	file := filepath.Join(dir, ModelFile)
	if hasRlpipeMeta(file) {
		var err error
		if m, meta, err = policy.LoadTrainable(file); err != nil {
			return nil, err
		}
	} else {
		var err error
		if m, err = policy.LoadHFDir(dir); err != nil {
			return nil, err
		}
	}
	tok, err := hftok.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("policyfile: %s: %w", dir, err)
	}
	end, ok := tok.EOS()
	if !ok {
		return nil, fmt.Errorf("%w: %s: %s names no eos_token, which completions end with", ErrFormat, dir, hftok.ConfigFile)
	}
	if v, ok := m.(interface{ VocabSize() int }); ok && tok.VocabSize() > v.VocabSize() {
		return nil, fmt.Errorf("%w: %s: the tokenizer has ids up to %d, but the model's vocab_size is %d: tokenizer.json does not belong to this model",
			ErrFormat, dir, tok.VocabSize()-1, v.VocabSize())
	}
	pol := &Policy{Model: m, Tokenizer: hfTokenizer{tok, end}, files: map[string][]byte{}}
	for _, name := range sidecarFiles {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("policyfile: %w", err)
		}
		pol.files[name] = b
	}
	if hasChatTemplate(pol.files) {
		t, err := chattemplate.Load(dir)
		if err != nil {
			return nil, fmt.Errorf("policyfile: %s: %w", dir, err)
		}
		pol.Chat = chatTemplate{t}
	}
	if err := pol.readMeta(meta, file); err != nil {
		return nil, err
	}
	return pol, nil
}

// hasRlpipeMeta reports whether the safetensors file at path was written
// by rlpipe (it names its model family).
func hasRlpipeMeta(path string) bool {
	ck, err := safetensors.Open(path)
	if err != nil {
		return false
	}
	defer ck.Close()
	_, ok := ck.Metadata()[policy.MetaModelKind]
	return ok
}

// hasChatTemplate reports whether the model directory's files define a
// chat template.
func hasChatTemplate(files map[string][]byte) bool {
	if _, ok := files[chattemplate.TemplateFile]; ok {
		return true
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
	}
	return json.Unmarshal(files[hftok.ConfigFile], &cfg) == nil && len(cfg.ChatTemplate) > 0 && string(cfg.ChatTemplate) != "null"
}

// SaveSidecars writes, into dir, the files a policy carries beside its
// weights — for a Hugging Face model config.json, its tokenizer, chat
// template and generation config, so that the directory loads in
// transformers as is — and returns their names (none for rlpipe's own
// families, whose weights file holds everything).
func (p *Policy) SaveSidecars(dir string) ([]string, error) {
	hf, ok := p.Model.(policy.HFModel)
	if !ok {
		return nil, nil
	}
	cfg, err := hf.HFConfig()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{policy.HFConfigFile: cfg}
	for k, v := range p.files {
		files[k] = v
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := safetensors.WriteFileAtomic(filepath.Join(dir, name), files[name]); err != nil {
			return nil, fmt.Errorf("policyfile: %w", err)
		}
	}
	return names, nil
}

// ExportHF writes the policy as a Hugging Face model directory (weights in
// dtype, sharded above maxShardBytes; 0 means one file) that transformers,
// vLLM and llama.cpp's converter load as is. Only families that are
// transformers models can be exported.
func (p *Policy) ExportHF(dir string, dtype safetensors.Dtype, maxShardBytes int64) error {
	hf, ok := p.Model.(policy.HFModel)
	if !ok {
		return fmt.Errorf("%w: policy kind %s is rlpipe's own architecture, not a transformers model; only hf policies export to the Hugging Face format", policy.ErrConfig, p.Kind())
	}
	meta := map[string]string{MetaVersion: Version}
	if err := hf.SaveHF(dir, dtype, maxShardBytes, meta); err != nil {
		return err
	}
	_, err := p.SaveSidecars(dir)
	return err
}
