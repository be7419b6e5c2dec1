package checkpoint

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeCheckpoint(t *testing.T, root string, step int64, files map[string]string) string {
	t.Helper()
	w, err := NewWriter(root, step)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		if err := w.WriteFile(name, func(out io.Writer) error {
			_, err := io.WriteString(out, body)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	dir, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestCommitWritesManifestAndLatest(t *testing.T) {
	root := t.TempDir()
	dir := writeCheckpoint(t, root, 7, map[string]string{"state.json": `{"step":7}`, "model.safetensors": "weights"})
	if filepath.Base(dir) != "step-000007" {
		t.Fatalf("dir = %s", dir)
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
	latest, err := os.ReadFile(filepath.Join(root, LatestName))
	if err != nil || strings.TrimSpace(string(latest)) != "step-000007" {
		t.Fatalf("latest = %q, %v", latest, err)
	}
	manifest, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	if got := strings.Count(string(manifest), "\n"); got != 2 {
		t.Fatalf("manifest has %d lines:\n%s", got, manifest)
	}
	// Files are listed sorted, so the manifest is deterministic.
	if !strings.Contains(strings.Split(string(manifest), "\n")[0], "model.safetensors") {
		t.Fatalf("manifest not sorted:\n%s", manifest)
	}
}

func TestLatestDetectsCorruption(t *testing.T) {
	cases := []struct {
		name    string
		damage  func(dir string)
		wantMsg string
	}{
		{"a flipped byte is refused", func(dir string) {
			os.WriteFile(filepath.Join(dir, "state.json"), []byte(`{"step":9}`), 0o644)
		}, "state.json: sha256"},
		{"a missing file is refused", func(dir string) {
			os.Remove(filepath.Join(dir, "state.json"))
		}, "state.json"},
		{"a missing manifest is refused", func(dir string) {
			os.Remove(filepath.Join(dir, ManifestName))
		}, "MANIFEST"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			writeCheckpoint(t, root, 1, map[string]string{"state.json": `{"step":1}`})
			dir := writeCheckpoint(t, root, 2, map[string]string{"state.json": `{"step":2}`})
			tc.damage(dir)
			_, _, err := Latest(root, false)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("err = %v, want ErrCorrupt mentioning %q", err, tc.wantMsg)
			}
			if !strings.Contains(err.Error(), "previous-good") {
				t.Fatalf("error does not tell how to fall back: %v", err)
			}
			info, skipped, err := Latest(root, true)
			if err != nil || info.Step != 1 || len(skipped) != 1 {
				t.Fatalf("fallback = %+v, %v, %v; want step 1 with one skipped", info, skipped, err)
			}
		})
	}
}

func TestInterruptedWriteIsInvisible(t *testing.T) {
	root := t.TempDir()
	writeCheckpoint(t, root, 3, map[string]string{"state.json": "x"})
	w, err := NewWriter(root, 4)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteFile("state.json", func(out io.Writer) error { _, err := io.WriteString(out, "y"); return err }); err != nil {
		t.Fatal(err)
	}
	// No Commit: as if the process was killed here.
	info, _, err := Latest(root, false)
	if err != nil || info.Step != 3 {
		t.Fatalf("Latest = %+v, %v; want step 3", info, err)
	}
	if err := Prune(root, 0); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".tmp-") {
			t.Fatalf("temporary directory %s survived Prune", e.Name())
		}
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	root := t.TempDir()
	for step := int64(1); step <= 5; step++ {
		writeCheckpoint(t, root, step, map[string]string{"state.json": "s"})
	}
	if err := Prune(root, 2); err != nil {
		t.Fatal(err)
	}
	all, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Step != 4 || all[1].Step != 5 {
		t.Fatalf("after Prune(2): %+v", all)
	}
}

func TestRecommitSameStepReplacesIt(t *testing.T) {
	root := t.TempDir()
	writeCheckpoint(t, root, 5, map[string]string{"state.json": "first"})
	dir := writeCheckpoint(t, root, 5, map[string]string{"state.json": "second"})
	got, _ := os.ReadFile(filepath.Join(dir, "state.json"))
	if string(got) != "second" {
		t.Fatalf("state.json = %q", got)
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
}

func TestLatestOnEmptyRoot(t *testing.T) {
	_, _, err := Latest(filepath.Join(t.TempDir(), "none"), true)
	if !errors.Is(err, ErrNoCheckpoint) {
		t.Fatalf("err = %v, want ErrNoCheckpoint", err)
	}
}
