// Package checkpoint writes and reads rlpipe's run checkpoints: one directory
// per step holding the files a resumed run needs and a MANIFEST of their
// sha256 sums, created atomically (temporary directory, fsync, rename) with
// OUT/checkpoints/latest replaced last.
package checkpoint

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rlpipe/rlpipe/policy/policyfile"
)

// ManifestName is the file inside every checkpoint directory listing
// "sha256  name" for each other file.
const ManifestName = policyfile.ManifestName

// LatestName is the file in the checkpoints directory naming the newest
// complete checkpoint.
const LatestName = "latest"

// ErrNoCheckpoint is returned when a directory holds no complete checkpoint.
var ErrNoCheckpoint = errors.New("checkpoint: no complete checkpoint")

// ErrCorrupt is wrapped by errors about a checkpoint whose files do not match
// its manifest. It is policyfile.ErrCorrupt, so that errors.Is holds for
// errors of either package.
var ErrCorrupt = policyfile.ErrCorrupt

var stepDirPattern = regexp.MustCompile(`^step-(\d{6,})$`)

// DirName returns the directory name of the checkpoint at step.
func DirName(step int64) string { return fmt.Sprintf("step-%06d", step) }

// Writer collects the files of one checkpoint in a temporary directory; Commit
// makes it visible atomically. A Writer is not safe for concurrent use.
type Writer struct {
	root    string // OUT/checkpoints
	step    int64
	tmp     string
	written []string
	done    bool
}

// NewWriter starts a checkpoint for step under root (OUT/checkpoints), which
// is created when missing.
func NewWriter(root string, step int64) (*Writer, error) {
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	tmp, err := os.MkdirTemp(root, ".tmp-"+DirName(step)+"-")
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	return &Writer{root: root, step: step, tmp: tmp}, nil
}

// Create opens name inside the checkpoint for writing. The caller writes and
// closes it; Commit fsyncs every file.
func (w *Writer) Create(name string) (*os.File, error) {
	if name == ManifestName || strings.ContainsAny(name, `/\`) || name == "" {
		panic(fmt.Sprintf("checkpoint: invalid file name %q", name))
	}
	f, err := os.Create(filepath.Join(w.tmp, name))
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	w.written = append(w.written, name)
	return f, nil
}

// WriteFile writes a whole file into the checkpoint with fn.
func (w *Writer) WriteFile(name string, fn func(io.Writer) error) error {
	f, err := w.Create(name)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := fn(bw); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: writing %s: %w", name, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: writing %s: %w", name, err)
	}
	return f.Close()
}

// Path returns where name is being written, for writers that take a path.
// Files created this way must be registered with Add.
func (w *Writer) Path(name string) string { return filepath.Join(w.tmp, name) }

// Add registers a file written directly at Path(name).
func (w *Writer) Add(name string) { w.written = append(w.written, name) }

// Abort removes the temporary directory; it is a no-op after Commit.
func (w *Writer) Abort() {
	if !w.done {
		os.RemoveAll(w.tmp)
		w.done = true
	}
}

// Commit writes the MANIFEST, fsyncs every file and the directory, renames
// the directory to step-NNNNNN, then replaces `latest`. It returns the final
// directory. On error the temporary directory is removed.
func (w *Writer) Commit() (string, error) {
	if w.done {
		panic("checkpoint: Commit after Commit or Abort")
	}
	final, err := w.commit()
	if err != nil {
		w.Abort()
		return "", err
	}
	w.done = true
	return final, nil
}

func (w *Writer) commit() (string, error) {
	names := append([]string(nil), w.written...)
	sort.Strings(names)
	var manifest strings.Builder
	for _, name := range names {
		sum, err := fileSHA256(filepath.Join(w.tmp, name), true)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(&manifest, "%s  %s\n", sum, name)
	}
	if err := writeSynced(filepath.Join(w.tmp, ManifestName), []byte(manifest.String())); err != nil {
		return "", err
	}
	if err := syncDir(w.tmp); err != nil {
		return "", err
	}
	final := filepath.Join(w.root, DirName(w.step))
	if _, err := os.Stat(final); err == nil {
		// A checkpoint of this step exists (a resumed run re-saving it):
		// move it aside so the rename below stays atomic.
		old := final + ".old"
		os.RemoveAll(old)
		if err := os.Rename(final, old); err != nil {
			return "", fmt.Errorf("checkpoint: %w", err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(w.tmp, final); err != nil {
		return "", fmt.Errorf("checkpoint: %w", err)
	}
	if err := syncDir(w.root); err != nil {
		return "", err
	}
	if err := replaceFile(filepath.Join(w.root, LatestName), []byte(DirName(w.step)+"\n")); err != nil {
		return "", err
	}
	return final, nil
}

// Verify checks every file listed in dir's MANIFEST against its sha256 and
// that no listed file is missing (policyfile.VerifyManifest, which every
// loader of a policy directory runs too). Errors wrap ErrCorrupt and name
// the file.
func Verify(dir string) error { return policyfile.VerifyManifest(dir) }

// Info describes a checkpoint directory found under a checkpoints root.
type Info struct {
	Step int64
	Dir  string
}

// List returns the step directories under root, oldest first, without
// verifying them. Temporary directories of interrupted writes are skipped.
func List(root string) ([]Info, error) {
	entries, err := os.ReadDir(root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	var out []Info
	for _, e := range entries {
		m := stepDirPattern.FindStringSubmatch(e.Name())
		if m == nil || !e.IsDir() {
			continue
		}
		step, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		out = append(out, Info{Step: step, Dir: filepath.Join(root, e.Name())})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Step < out[j].Step })
	return out, nil
}

// Latest returns the newest checkpoint under root and verifies it. When the
// newest one is corrupt it returns an error wrapping ErrCorrupt, unless
// fallback is true, in which case it returns the newest checkpoint that
// verifies (and the errors of the ones it skipped, for logging).
func Latest(root string, fallback bool) (Info, []error, error) {
	all, err := List(root)
	if err != nil {
		return Info{}, nil, err
	}
	var skipped []error
	for i := len(all) - 1; i >= 0; i-- {
		err := Verify(all[i].Dir)
		if err == nil {
			return all[i], skipped, nil
		}
		if !fallback {
			return Info{}, nil, fmt.Errorf("%w (use --resume=previous-good to fall back to an older checkpoint)", err)
		}
		skipped = append(skipped, err)
	}
	return Info{}, skipped, fmt.Errorf("%w in %s", ErrNoCheckpoint, root)
}

// Prune removes all but the newest keep checkpoints under root (keep <= 0
// keeps everything) and any leftover temporary directories.
func Prune(root string, keep int) error {
	entries, err := os.ReadDir(root)
	if err == nil {
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), ".tmp-") {
				os.RemoveAll(filepath.Join(root, e.Name()))
			}
		}
	}
	if keep <= 0 {
		return nil
	}
	all, err := List(root)
	if err != nil {
		return err
	}
	for i := 0; i < len(all)-keep; i++ {
		if err := os.RemoveAll(all[i].Dir); err != nil {
			return fmt.Errorf("checkpoint: pruning: %w", err)
		}
	}
	return nil
}

func fileSHA256(path string, sync bool) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if sync {
		if err := f.Sync(); err != nil {
			return "", fmt.Errorf("checkpoint: fsync %s: %w", path, err)
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func writeSynced(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	return f.Close()
}

// replaceFile writes b to path atomically: a synced temporary file renamed
// over path, then the directory synced.
func replaceFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := writeSynced(tmp, b); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return syncDir(filepath.Dir(path))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("checkpoint: fsync %s: %w", dir, err)
	}
	return nil
}
