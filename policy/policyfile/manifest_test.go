package policyfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rlpipe/rlpipe/policy"
)

// writeManifest lists every file of dir in its MANIFEST, as
// pipeline/checkpoint does.
func writeManifest(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		if e.Name() == ManifestName {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(raw)
		fmt.Fprintf(&b, "%s  %s\n", hex.EncodeToString(sum[:]), e.Name())
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestName), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Load verifies a directory's MANIFEST when it has one: an intact
// checkpoint and a policy without a MANIFEST load, a flipped byte or a
// missing listed file is refused naming the file and both sums.
func TestLoadVerifiesTheManifestWhenPresent(t *testing.T) {
	pol, err := New(policy.KindAR, tiny)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		manifest bool
		damage   func(dir string)
		wantErr  []string // substrings; nil: loads
	}{
		{name: "a policy without a manifest loads unverified"},
		{name: "an intact checkpoint loads", manifest: true},
		{name: "a flipped byte of the weights is refused", manifest: true, damage: func(dir string) {
			path := filepath.Join(dir, ModelFile)
			b, _ := os.ReadFile(path)
			b[len(b)-1] ^= 0xff
			os.WriteFile(path, b, 0o644)
		}, wantErr: []string{ModelFile, "sha256", "expects"}},
		{name: "a missing listed file is refused", manifest: true, damage: func(dir string) {
			os.WriteFile(filepath.Join(dir, "state.json"), []byte("{}"), 0o644)
			writeManifest(t, dir)
			os.Remove(filepath.Join(dir, "state.json"))
		}, wantErr: []string{"state.json"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := pol.Save(dir); err != nil {
				t.Fatal(err)
			}
			if tc.manifest {
				writeManifest(t, dir)
			}
			if tc.damage != nil {
				tc.damage(dir)
			}
			status, checkErr := CheckManifest(dir)
			_, err := Load(dir)
			if tc.wantErr == nil {
				want := map[bool]ManifestStatus{false: ManifestAbsent, true: ManifestVerified}[tc.manifest]
				if err != nil || checkErr != nil || status != want {
					t.Fatalf("Load: %v; CheckManifest: %v, %v (want %v)", err, status, checkErr, want)
				}
				return
			}
			if !errors.Is(err, ErrCorrupt) || !errors.Is(checkErr, ErrCorrupt) {
				t.Fatalf("Load: %v; CheckManifest: %v; want ErrCorrupt", err, checkErr)
			}
			for _, s := range tc.wantErr {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not mention %q", err, s)
				}
			}
		})
	}
}
