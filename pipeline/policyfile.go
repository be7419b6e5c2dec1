package pipeline

import (
	"slices"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// Version is the rlpipe release written into checkpoints and run
// directories: the one policy files record.
const Version = policyfile.Version

// heldOutSpec returns the held-out dataset spec matching t.Train: the test
// split of a generated task or built-in dataset, "" for files.
func heldOutSpec(t policyfile.TrainedOn) string {
	name, _, _ := cutSpec(t.Train)
	if slices.Contains(data.TaskNames(), name) || slices.Contains(data.BuiltinNames(), name) {
		return name + ":test"
	}
	return ""
}

// promptRenderer adapts a data.Template to rollout.Renderer.
type promptRenderer struct{ tmpl data.Template }

func (r promptRenderer) Render(p data.Prompt, mode uint8) string {
	return r.tmpl.Render(p.Prompt, mode).Text
}
