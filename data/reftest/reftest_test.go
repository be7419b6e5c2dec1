package reftest

import (
	"os/exec"
	"strings"
	"testing"
)

// TestTorchIsTheDebianInterpreter checks that the interpreter Torch returns
// really computes with torch, so that reference tests built on it cannot
// pass vacuously.
func TestTorchIsTheDebianInterpreter(t *testing.T) {
	py := Torch(t)
	out, err := exec.Command(py, "-c", "import torch; print(float(torch.tensor([1.5,2.5]).sum()))").CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", py, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "4.0" {
		t.Fatalf("torch sum = %q, want 4.0", got)
	}
}

// TestNodeFindsItsPackages resolves an npm reference package from the
// modules folder Node returns.
func TestNodeFindsItsPackages(t *testing.T) {
	node, modules := Node(t, "@huggingface/jinja")
	cmd := exec.Command(node, "-e", `const {Template}=require("@huggingface/jinja"); console.log(new Template("{{ a }}+{{ b }}").render({a:1,b:2}))`)
	cmd.Env = append(cmd.Environ(), "NODE_PATH="+modules)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node: %v: %s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "1+2" {
		t.Fatalf("rendered %q, want 1+2", got)
	}
}
