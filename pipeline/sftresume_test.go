package pipeline

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
)

// interruptAt is a log writer that closes interrupt when a line containing
// trigger is written, as a signal arriving at that moment would.
type interruptAt struct {
	mu        sync.Mutex
	trigger   string
	interrupt chan struct{}
	closed    bool
}

func (w *interruptAt) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.closed && bytes.Contains(p, []byte(w.trigger)) {
		close(w.interrupt)
		w.closed = true
	}
	return len(p), nil
}

// An interrupt that arrives during SFT step 11 (right after checkpoint 10
// is written) stops the warm start after that step with a checkpoint of
// step 11 and ErrInterrupted, before any RL state exists; --resume then
// continues the SFT from step 11 and the run ends with the weights,
// optimizer, sampler, metrics and evaluations of an uninterrupted run.
func TestSFTInterruptStopsWithinAStepAndResumesBitIdentical(t *testing.T) {
	cfg := smallRunConfig()
	cfg.SFT.Steps, cfg.SFT.CheckpointEvery = 30, 10
	cfg.Train.Steps = 2
	full, cut := t.TempDir(), t.TempDir()
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: full}); err != nil {
		t.Fatal(err)
	}
	w := &interruptAt{trigger: filepath.Join("checkpoints", checkpoint.DirName(10)), interrupt: make(chan struct{})}
	_, err := Run(context.Background(), cfg, RunOptions{OutDir: cut, Stderr: w, Interrupt: w.interrupt})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: err = %v, want ErrInterrupted", err)
	}
	latest, err := os.ReadFile(filepath.Join(SFTCheckpointsDir(cut), checkpoint.LatestName))
	if err != nil || strings.TrimSpace(string(latest)) != checkpoint.DirName(11) {
		t.Fatalf("latest SFT checkpoint = %q (%v); want the step the interrupt arrived in, %s", latest, err, checkpoint.DirName(11))
	}
	for _, name := range []string{"checkpoints", metricsFile, filepath.Join("sft", "model.safetensors")} {
		if _, err := os.Stat(filepath.Join(cut, name)); err == nil {
			t.Errorf("%s exists: the run went past the interrupted SFT", name)
		}
	}
	var log bytes.Buffer
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: cut, Resume: true, Stderr: &log}); err != nil {
		t.Fatalf("resume: %v\n%s", err, log.String())
	}
	if !strings.Contains(log.String(), "continuing the SFT after step 11") {
		t.Errorf("the resume did not continue the SFT:\n%s", log.String())
	}
	sameFiles(t, full, cut, filepath.Join("sft", "model.safetensors"), evalFile)
	sameMetrics(t, full, cut)
	for _, name := range []string{"model.safetensors", optimizerFile, samplerFile} {
		sameFiles(t, full, cut, filepath.Join("checkpoints", checkpoint.DirName(2), name))
	}
}

// sameFiles requires each name to have the same bytes under a and b.
func sameFiles(t *testing.T, a, b string, names ...string) {
	t.Helper()
	for _, name := range names {
		x, errA := os.ReadFile(filepath.Join(a, name))
		y, errB := os.ReadFile(filepath.Join(b, name))
		if errA != nil || errB != nil || !bytes.Equal(x, y) {
			t.Errorf("%s differs between the uninterrupted and the resumed run (%v, %v)", name, errA, errB)
		}
	}
}
