package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy/policyfile"
)

func TestTrainedOnHeldOutSpec(t *testing.T) {
	for _, c := range []struct{ train, want string }{
		{"arithmetic", "arithmetic:test"},
		{"countdown:train", "countdown:test"},
		{"gsm8k", "gsm8k:test"},
		{"runs/data/train.jsonl", ""},
		{"", ""},
	} {
		if got := heldOutSpec(policyfile.TrainedOn{Train: c.train}); got != c.want {
			t.Errorf("heldOutSpec(%q) = %q, want %q", c.train, got, c.want)
		}
	}
}

// TestHeldOutFromTheTrainingSourceIsWarned: with data.eval unset, a file
// (or a named split) as data.train is also the held-out source, which the
// run log must say, while a built-in name gets its test split silently.
func TestHeldOutFromTheTrainingSourceIsWarned(t *testing.T) {
	file := filepath.Join(t.TempDir(), "train.jsonl")
	if err := os.WriteFile(file, []byte(`{"prompt": "1+1?", "answer": "2"}`+"\n"+`{"prompt": "2+2?", "answer": "4"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		train, eval string
		warn        bool
	}{
		{file, "", true},
		{"arithmetic:train", "", true},
		{file, "arithmetic:test", false},
		{"arithmetic", "", false},
	} {
		cfg := DefaultRunConfig()
		cfg.Data.Train, cfg.Data.Eval = c.train, c.eval
		var log strings.Builder
		r := &runner{cfg: cfg, log: &log}
		if err := r.loadData(context.Background()); err != nil {
			t.Fatalf("%s: %v", c.train, err)
		}
		if got := strings.Contains(log.String(), "not held out"); got != c.warn {
			t.Errorf("train %q eval %q: warned %v, want %v (log %q)", c.train, c.eval, got, c.warn, log.String())
		}
	}
}
