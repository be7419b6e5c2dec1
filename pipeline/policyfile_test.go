package pipeline

import "testing"

func TestTrainedOnHeldOutSpec(t *testing.T) {
	for _, c := range []struct{ train, want string }{
		{"arithmetic", "arithmetic:test"},
		{"countdown:train", "countdown:test"},
		{"gsm8k", "gsm8k:test"},
		{"runs/data/train.jsonl", ""},
		{"", ""},
	} {
		if got := (TrainedOn{Train: c.train}).HeldOutSpec(); got != c.want {
			t.Errorf("HeldOutSpec(%q) = %q, want %q", c.train, got, c.want)
		}
	}
}
