package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/rlpipe/rlpipe/pipeline/checkpoint"
	"github.com/rlpipe/rlpipe/policy"
	"github.com/rlpipe/rlpipe/policy/learn"
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

// An interrupt during the SFT warm start stops it after the step it
// arrived in, with a checkpoint of that step and ErrInterrupted, before any
// RL state exists; one during the evaluation after the SFT stops before
// the first RL step. Either way --resume continues the SFT from its
// checkpoint and the run ends with the weights, optimizer, sampler,
// metrics and evaluations of an uninterrupted run. The interrupt is
// delivered by the log writer at a known line, so the steps are exact.
func TestSFTInterruptStopsWithinAStepAndResumesBitIdentical(t *testing.T) {
	for _, family := range []struct {
		name string
		cfg  func(t *testing.T) RunConfig
	}{
		{"causal", func(*testing.T) RunConfig { return smallRunConfig() }},
		// Diffusion SFT draws its masks per step: a resume must too.
		{"diffusion", smallDiffusionSFTConfig},
	} {
		t.Run(family.name, func(t *testing.T) {
			cfg := family.cfg(t)
			cfg.SFT.Steps, cfg.SFT.CheckpointEvery = 30, 10
			cfg.Train.Steps = 2
			full := t.TempDir()
			if _, err := Run(context.Background(), cfg, RunOptions{OutDir: full}); err != nil {
				t.Fatal(err)
			}
			for _, tc := range sftInterruptCases() {
				t.Run(tc.name, func(t *testing.T) { checkSFTInterrupt(t, cfg, full, tc.trigger, tc.wantLatest) })
			}
		})
	}
}

// smallDiffusionSFTConfig is smallRunConfig as a diffusion policy trained
// with GDPO on a 16-token canvas, evaluated greedily only.
func smallDiffusionSFTConfig(t *testing.T) RunConfig {
	cfg := smallRunConfig()
	cfg.Policy.Kind = policy.KindDiffusion
	cfg.Algorithm.Name = learn.NameGDPO
	if err := cfg.ApplyPreset(); err != nil {
		t.Fatal(err)
	}
	cfg.Policy.Diffusion.Canvas = 16
	cfg.Policy.Diffusion.Gen.Steps, cfg.Policy.Diffusion.Gen.BlockLen = 4, 16
	cfg.Eval.Samples = 0
	return cfg
}

// sftInterruptCase is a log line at which the interrupt arrives and the
// SFT checkpoint the interrupted run must end on.
type sftInterruptCase struct {
	name, trigger string
	wantLatest    int
}

func sftInterruptCases() []sftInterruptCase {
	return []sftInterruptCase{
		{"an interrupt during SFT step 11 stops after step 11",
			filepath.Join("checkpoints", checkpoint.DirName(10)), 11},
		{"an interrupt during the evaluation after the SFT stops before RL step 1",
			"sft: final loss", 30},
	}
}

// checkSFTInterrupt runs cfg with an interrupt at the log line trigger,
// requires it to stop on SFT checkpoint wantLatest without RL state,
// resumes it and compares the result with the uninterrupted run in full.
func checkSFTInterrupt(t *testing.T, cfg RunConfig, full, trigger string, wantLatest int) {
	cut := t.TempDir()
	w := &interruptAt{trigger: trigger, interrupt: make(chan struct{})}
	_, err := Run(context.Background(), cfg, RunOptions{OutDir: cut, Stderr: w, Interrupt: w.interrupt})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("interrupted run: err = %v, want ErrInterrupted", err)
	}
	latest, err := os.ReadFile(filepath.Join(SFTCheckpointsDir(cut), checkpoint.LatestName))
	if want := checkpoint.DirName(int64(wantLatest)); err != nil || strings.TrimSpace(string(latest)) != want {
		t.Fatalf("latest SFT checkpoint = %q (%v); want %s", latest, err, want)
	}
	if _, err := os.Stat(filepath.Join(cut, "checkpoints")); err == nil {
		t.Error("checkpoints/ exists: the run went on to RL after the interrupt")
	}
	if m, err := os.ReadFile(filepath.Join(cut, metricsFile)); err == nil && len(m) > 0 {
		t.Errorf("metrics.jsonl has RL steps after the interrupt:\n%s", m)
	}
	var log bytes.Buffer
	if _, err := Run(context.Background(), cfg, RunOptions{OutDir: cut, Resume: true, Stderr: &log}); err != nil {
		t.Fatalf("resume: %v\n%s", err, log.String())
	}
	if want := fmt.Sprintf("continuing the SFT after step %d", wantLatest); !strings.Contains(log.String(), want) {
		t.Errorf("the resume log lacks %q:\n%s", want, log.String())
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
