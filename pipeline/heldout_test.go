package pipeline

import (
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
