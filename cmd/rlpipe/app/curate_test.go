package app

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/data"
	"github.com/rlpipe/rlpipe/data/datatest"
	"github.com/rlpipe/rlpipe/pipeline/curate"
)

// curatedRow is the part of a curated row the tests check.
type curatedRow struct {
	DataSource string `json:"data_source"`
	Prompt     []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"prompt"`
	RewardModel struct {
		GroundTruth string `json:"ground_truth"`
		Style       string `json:"style"`
	} `json:"reward_model"`
	ExtraInfo struct {
		Index    int64  `json:"index"`
		PromptID uint64 `json:"prompt_id"`
	} `json:"extra_info"`
	PromptID uint64   `json:"prompt_id"`
	PassRate *float64 `json:"pass_rate"`
	OVS      *float64 `json:"ovs"`
	TDS      *float64 `json:"tds"`
	VPS      *float64 `json:"vps"`
	Samples  int64    `json:"samples"`
}

// inspectRows reads every row of a curated file through rlpipe inspect's
// reader and returns the raw JSON lines and their decoded form.
func inspectRows(t *testing.T, path string) ([]string, []curatedRow) {
	t.Helper()
	res, err := data.Inspect(path, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rows := make([]curatedRow, len(res.FirstRows))
	for i, line := range res.FirstRows {
		if err := json.Unmarshal([]byte(line), &rows[i]); err != nil {
			t.Fatalf("row %d: %v", i, err)
		}
	}
	return res.FirstRows, rows
}

func TestCurateKilledMidRunResumesToTheUninterruptedFile(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	dir := t.TempDir()
	args := func(out string) []string {
		return []string{"curate", "--dataset", "arithmetic:test", "--difficulty", "1", "--limit", "60", "--n", "4",
			"--max-new-tokens", "16", "--batch", "2", "--workers", "1", "--seed", "11", "--checkpoint", ckpt, "--out", out}
	}
	full, killed := filepath.Join(dir, "full.parquet"), filepath.Join(dir, "killed.parquet")
	if out, stderr, code := cli(t, args(full)...); code != 0 {
		t.Fatalf("uninterrupted curate: exit %d\n%s\n%s", code, out, stderr)
	}

	proc := cliProcess(t, args(killed)...)
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	sidecar := killed + curate.SidecarSuffix
	deadline := time.Now().Add(2 * time.Minute)
	for sidecarLines(sidecar) < 3 && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	proc.Process.Signal(syscall.SIGKILL)
	proc.Wait()
	got := sidecarLines(sidecar)
	if _, err := os.Stat(killed); err == nil || got < 3 || got >= 61 {
		t.Fatalf("the kill came too late or too early (%d sidecar lines, output written: %v); the test proves nothing", got, err == nil)
	}
	t.Logf("killed with %d of 61 sidecar lines written", got)

	out, stderr, code := cli(t, args(killed)...)
	if code != 0 || !strings.Contains(out, "resumed") {
		t.Fatalf("resumed curate: exit %d\n%s\n%s", code, out, stderr)
	}
	want, _ := inspectRows(t, full)
	have, rows := inspectRows(t, killed)
	if strings.Join(have, "\n") != strings.Join(want, "\n") {
		t.Fatalf("kill and resume changed the file:\n%s\nvs uninterrupted\n%s", strings.Join(have, "\n"), strings.Join(want, "\n"))
	}
	seen := map[int64]int{}
	for _, r := range rows {
		seen[r.ExtraInfo.Index]++
	}
	for i := int64(0); i < 60; i++ {
		if seen[i] != 1 {
			t.Fatalf("row %d appears %d times", i, seen[i])
		}
	}
}

// sidecarLines counts the complete lines of a progress file (0 if absent).
func sidecarLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte{'\n'})
}

func TestCurateThroughServeOnGSM8K(t *testing.T) {
	ckpt := tinyCheckpoint(t)
	sp := startServe(t, "--checkpoint", ckpt, "--model-name", "tiny")
	out := filepath.Join(t.TempDir(), "gsm8k.parquet")
	stdout, stderr, code := cli(t, "curate", "--dataset", "gsm8k:test", "--limit", "5", "--n", "3", "--max-new-tokens", "12",
		"--base-url", sp.base, "--out", out)
	if code != 0 {
		t.Fatalf("curate: exit %d\n%s\n%s\nserver:\n%s", code, stdout, stderr, sp.stderr)
	}
	if c := sp.stop(t, syscall.SIGTERM); c != 0 {
		t.Fatalf("serve exited %d", c)
	}
	_, rows := inspectRows(t, out)
	orig := datatest.ReadSpec(t, "gsm8k:test")[:5]
	if len(rows) != 5 {
		t.Fatalf("%d rows, want 5", len(rows))
	}
	for i, r := range rows {
		if r.PassRate == nil || r.OVS == nil || r.TDS == nil || r.VPS == nil || r.Samples != 3 {
			t.Fatalf("row %d: statistics missing: %+v", i, r)
		}
		if *r.TDS <= 0 || *r.TDS > 1 || *r.OVS != *r.PassRate*(1-*r.PassRate) {
			t.Fatalf("row %d: implausible statistics %+v", i, r)
		}
		if r.DataSource != orig[i].Dataset || len(r.Prompt) != 1 || r.Prompt[0].Role != "user" ||
			r.Prompt[0].Content != orig[i].Prompt || r.RewardModel.GroundTruth != orig[i].Answer ||
			r.RewardModel.Style != "rule" || r.ExtraInfo.Index != int64(i) || r.ExtraInfo.PromptID != orig[i].ID || r.PromptID != orig[i].ID {
			t.Fatalf("row %d does not hold GSM8K row %d: %+v", i, i, r)
		}
	}
	// The file is a dataset again: prompts, answers and ids come back.
	back := datatest.ReadSpec(t, out)
	for i := range back {
		if back[i].ID != orig[i].ID || back[i].Prompt != orig[i].Prompt || back[i].Answer != orig[i].Answer {
			t.Fatalf("row %d read back as %+v, want %+v", i, back[i], orig[i])
		}
	}
	if insp, stderr, code := cli(t, "inspect", out); code != 0 || !strings.Contains(insp, "rows:   5") {
		t.Fatalf("inspect: exit %d\n%s\n%s", code, insp, stderr)
	}
}

func TestCurateUsageErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.parquet")
	checkUsageErrors(t, []usageCase{
		{"no dataset", []string{"curate", "--out", out, "--checkpoint", "x"}, "--dataset"},
		{"no policy", []string{"curate", "--dataset", "gsm8k:test", "--out", out}, "--checkpoint"},
		{"two policies", []string{"curate", "--dataset", "gsm8k:test", "--out", out, "--checkpoint", "x", "--base-url", "http://h/v1"}, "exactly one"},
		{"a negative alpha", []string{"curate", "--dataset", "gsm8k:test", "--out", out, "--checkpoint", "x", "--alpha", "-1"}, "alpha"},
		{"an inverted pass range", []string{"curate", "--dataset", "gsm8k:test", "--out", out, "--checkpoint", "x", "--min-pass", "0.9", "--max-pass", "0.1"}, "pass-rate"},
		{"a bad base URL", []string{"curate", "--dataset", "gsm8k:test", "--out", out, "--base-url", "ftp://h"}, "base_url"},
	})
}
