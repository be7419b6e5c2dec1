package app

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// configDoc is the configuration reference, relative to the repository
// root.
const configDoc = "docs/config.md"

// TestConfigDocCoversEveryKey checks docs/config.md against the keys
// `rlpipe config default` prints: every key must appear as a backticked
// full dotted path (`algorithm.loss.clip_high`), and every dotted path that
// opens a table row of the page must still be a key. A new key therefore
// needs a line of documentation, and a removed or renamed key cannot stay
// documented.
func TestConfigDocCoversEveryKey(t *testing.T) {
	keys := defaultConfigKeys(t)
	raw, err := os.ReadFile(filepath.Join(repoRoot(t), filepath.FromSlash(configDoc)))
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	for _, k := range keys {
		if !strings.Contains(text, "`"+k+"`") {
			t.Errorf("%s: printed by rlpipe config default but not documented in %s (write it as `%s`)", k, configDoc, k)
		}
	}
	for i, line := range strings.Split(text, "\n") {
		cell, ok := firstCodeCell(line)
		if !ok || !strings.Contains(cell, ".") {
			continue
		}
		if !slices.Contains(keys, cell) {
			t.Errorf("%s:%d: documents `%s`, which rlpipe config default does not print", configDoc, i+1, cell)
		}
	}
}

// firstCodeCell returns the text of a table row's first cell when that
// cell is a single backticked word: "| `a.b` | ..." gives "a.b".
func firstCodeCell(line string) (string, bool) {
	rest, ok := strings.CutPrefix(line, "| `")
	if !ok {
		return "", false
	}
	cell, after, ok := strings.Cut(rest, "`")
	if !ok || !strings.HasPrefix(strings.TrimLeft(after, " "), "|") {
		return "", false
	}
	return cell, true
}
