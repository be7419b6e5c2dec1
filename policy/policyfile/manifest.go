package policyfile

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// ManifestName is the file inside a checkpoint directory listing
// "sha256  name" for each other file (written by pipeline/checkpoint).
const ManifestName = "MANIFEST"

// ErrCorrupt is wrapped by errors about a directory whose files do not
// match its MANIFEST (pipeline/checkpoint's ErrCorrupt is the same value).
var ErrCorrupt = errors.New("checkpoint: corrupt")

// ManifestStatus is the outcome of CheckManifest.
type ManifestStatus int

// The outcomes of CheckManifest.
const (
	// ManifestAbsent: the directory has no MANIFEST (a policy saved by
	// Save, a Hugging Face directory); nothing was verified.
	ManifestAbsent ManifestStatus = iota
	// ManifestVerified: every listed file exists with its listed sha256.
	ManifestVerified
)

// VerifyManifest checks every file listed in dir's MANIFEST against its
// sha256 and that no listed file is missing; a missing MANIFEST is an
// error. Errors wrap ErrCorrupt and name the file, with the actual and the
// expected sha256 for a mismatch. It reads every listed file once.
func VerifyManifest(dir string) error {
	mpath := filepath.Join(dir, ManifestName)
	raw, err := os.ReadFile(mpath)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, dir, err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return fmt.Errorf("%w: %s: empty manifest", ErrCorrupt, mpath)
	}
	for i, line := range lines {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || len(sum) != 64 || name == "" || strings.ContainsAny(name, `/\`) {
			return fmt.Errorf("%w: %s line %d: malformed", ErrCorrupt, mpath, i+1)
		}
		path := filepath.Join(dir, name)
		got, err := sha256File(path)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, path, err)
		}
		if got != sum {
			return fmt.Errorf("%w: %s: sha256 %s, but %s expects %s", ErrCorrupt, path, got, ManifestName, sum)
		}
	}
	return nil
}

// CheckManifest verifies dir's MANIFEST when it has one (VerifyManifest)
// and reports ManifestAbsent, without error, when it has none.
func CheckManifest(dir string) (ManifestStatus, error) {
	if _, err := os.Stat(filepath.Join(dir, ManifestName)); errors.Is(err, os.ErrNotExist) {
		return ManifestAbsent, nil
	}
	if err := VerifyManifest(dir); err != nil {
		return ManifestAbsent, err
	}
	return ManifestVerified, nil
}

func sha256File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
