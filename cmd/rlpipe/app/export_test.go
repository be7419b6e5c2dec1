package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/policyfile"
	"github.com/rlpipe/rlpipe/policy/policyfile/hftest"
	"github.com/rlpipe/rlpipe/policy/safetensors"
)

// rlpipe export --format hf writes a directory with every file transformers
// needs, in the asked dtype, that loads back as the same policy.
func TestExportWritesAHuggingFaceDirectory(t *testing.T) {
	src := hftest.TinyLlama(t)
	for _, tc := range []struct {
		dtype string
		want  safetensors.Dtype
	}{{"bf16", safetensors.BF16}, {"f32", safetensors.F32}} {
		t.Run(tc.dtype, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "export")
			stdout, stderr, code := cli(t, "export", "--checkpoint", src, "--out", out, "--dtype", tc.dtype)
			if code != 0 || !strings.Contains(stdout, "exported hf policy") {
				t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
			}
			for _, name := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"} {
				if _, err := os.Stat(filepath.Join(out, name)); err != nil {
					t.Errorf("export lacks %s", name)
				}
			}
			ck, err := safetensors.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer ck.Close()
			info, _ := ck.Info("model.embed_tokens.weight")
			if info.Dtype != tc.want || ck.Metadata()["format"] != "pt" {
				t.Errorf("embedding dtype %s, metadata %v; want %s and format pt", info.Dtype, ck.Metadata(), tc.want)
			}
			a, err := policyfile.Load(src)
			if err != nil {
				t.Fatal(err)
			}
			b, err := policyfile.Load(out)
			if err != nil {
				t.Fatal(err)
			}
			// The source is BF16, so either export keeps every weight exactly.
			pa, pb := a.Model.Params(), b.Model.Params()
			for i := range pa {
				for j := range pa[i].Value {
					if pa[i].Value[j] != pb[i].Value[j] {
						t.Fatalf("%s[%d]: %v after export, %v before", pa[i].Name, j, pb[i].Value[j], pa[i].Value[j])
					}
				}
			}
		})
	}
}

// A policy of rlpipe's own architecture is refused with the reason.
func TestExportRefusesByteLevelPolicies(t *testing.T) {
	ck := tinyCheckpoint(t)
	_, stderr, code := cli(t, "export", "--checkpoint", ck, "--out", filepath.Join(t.TempDir(), "x"))
	if code == 0 || !strings.Contains(stderr, "only hf policies export") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
}
