package reward_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/reward"
	"github.com/rlpipe/rlpipe/reward/rewardtest"
)

// Budgets for test workers that must never time out. A fresh worker is
// this race-built test binary, and on a loaded CI machine its exec and init
// alone can take seconds; a timeout there uses up the row's only retry, so
// a later genuine failure of that row (CRASHONCE) becomes its error. These
// are far above any load-induced delay, so only a real hang fires them and
// a passing run never waits for them. Tests of the timeout path itself set
// their own, short ones and only assert outcomes that load cannot change.
const (
	noHangTimeout      = 10 * time.Second
	noHangStartTimeout = time.Minute
)

func testWorker(t testing.TB, mode string, mod func(*reward.SubprocessConfig)) *reward.Subprocess {
	t.Helper()
	cfg := reward.SubprocessConfig{
		Command:      []string{os.Args[0]},
		Env:          []string{workerEnv + "=" + mode},
		Workers:      2,
		Batch:        8,
		Timeout:      noHangTimeout,
		StartTimeout: noHangStartTimeout,
		BackoffMin:   time.Millisecond,
		BackoffMax:   10 * time.Millisecond,
	}
	if mod != nil {
		mod(&cfg)
	}
	s, err := reward.NewSubprocess(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSubprocessConformance(t *testing.T) {
	rewardtest.Run(t, func() reward.Func { return testWorker(t, "1", nil) })
}

// TestSubprocessMisbehavingWorkers covers every failure the pool detects
// from the worker's own output or exit. No timer may decide a row here (see
// noHangTimeout); hangs are TestSubprocessHangTimesOut's.
func TestSubprocessMisbehavingWorkers(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	s := testWorker(t, "1", func(c *reward.SubprocessConfig) {
		c.Env = append(c.Env, "RLPIPE_MARKER="+marker)
	})
	rows := []reward.Row{
		{Completion: "a", Answer: "a"},
		{Completion: "CRASH"},
		{Completion: "b", Answer: "c"},
		{Completion: "GARBAGE"},
		{Completion: "NAN"},
		{Completion: "ERROR"},
		{Completion: "BADREWARD"},
		{Completion: "e", Answer: "e"}, // keeps CRASHONCE leading the second batch of 8
		{Completion: "CRASHONCE", Answer: "CRASHONCE"},
		{Completion: "d", Answer: "d"},
	}
	want := []struct {
		reward float64
		kind   reward.ErrorKind
		errHas string
	}{
		{1, "", ""},
		{0, reward.KindCrash, "boom on request"},
		{0, "", ""},
		{0, reward.KindMalformed, "this is not json"},
		{0, reward.KindNaN, "NaN"},
		{0, reward.KindError, "bad row"},
		{0, reward.KindMalformed, "not a number"},
		{1, "", ""},
		{1, "", ""},
		{1, "", ""},
	}
	out := make([]reward.Result, len(rows))
	if err := s.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	for i, w := range want {
		r := out[i]
		if r.Kind != w.kind || !strings.Contains(r.Err, w.errHas) || r.Err == "" && r.Reward != w.reward {
			t.Errorf("row %d (%s): got reward=%v kind=%q err=%q; want reward=%v kind=%q err containing %q",
				i, rows[i].Completion, r.Reward, r.Kind, r.Err, w.reward, w.kind, w.errHas)
		}
	}
	if out[0].Parts["len"] != 1 {
		t.Errorf("row 0 parts = %v, want len=1", out[0].Parts)
	}
	// The pool recovers: a clean batch afterwards scores normally.
	clean := []reward.Row{{Completion: "x", Answer: "x"}, {Completion: "y", Answer: "z"}}
	out = out[:2]
	if err := s.Score(context.Background(), clean, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Err != "" || out[0].Reward != 1 || out[1].Err != "" || out[1].Reward != 0 {
		t.Errorf("after failures: got %+v", out)
	}
}

// TestSubprocessRowBehindACrashIsRetried: CRASHONCE is in flight, unread,
// when CRASH kills the worker. That failure is not its own, so when its
// worker dies on it once it must still be retried, like any other row.
func TestSubprocessRowBehindACrashIsRetried(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "marker")
	s := testWorker(t, "1", func(c *reward.SubprocessConfig) {
		c.Env = append(c.Env, "RLPIPE_MARKER="+marker)
		c.Workers = 1
	})
	rows := []reward.Row{{Completion: "CRASH"}, {Completion: "CRASHONCE", Answer: "CRASHONCE"}, {Completion: "a", Answer: "a"}}
	out := make([]reward.Result, len(rows))
	if err := s.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Kind != reward.KindCrash {
		t.Errorf("CRASH: got %+v, want a crash", out[0])
	}
	for i := 1; i < len(rows); i++ {
		if out[i].Err != "" || out[i].Reward != 1 {
			t.Errorf("row %d (%s): got %+v, want reward 1", i, rows[i].Completion, out[i])
		}
	}
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("CRASHONCE never crashed its worker: %v", err)
	}
}

// TestSubprocessHangTimesOut uses short timeouts, so it cannot tell a hang
// from a slow start under load; it does not need to: the only row in
// flight gets the timeout either way, which is all it asserts.
func TestSubprocessHangTimesOut(t *testing.T) {
	s := testWorker(t, "1", func(c *reward.SubprocessConfig) {
		c.Timeout = 100 * time.Millisecond
		c.StartTimeout = 100 * time.Millisecond
		c.Workers = 1
	})
	out := make([]reward.Result, 1)
	if err := s.Score(context.Background(), []reward.Row{{Completion: "HANG"}}, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Kind != reward.KindTimeout || !strings.Contains(out[0].Err, "no reply within") {
		t.Errorf("HANG: got %+v, want a timeout", out[0])
	}
}

// TestSubprocessSlowStartIsNotATimeout: the worker sleeps longer than
// Timeout before reading, so only StartTimeout can save the first reply,
// and rows 1 and 2 were sent that long before their replies, so they pass
// only if each reply's budget runs from the previous reply. Timeout still
// leaves ample room for a reply that follows another at once.
func TestSubprocessSlowStartIsNotATimeout(t *testing.T) {
	s := testWorker(t, "slow:1500ms", func(c *reward.SubprocessConfig) {
		c.Timeout = time.Second
		c.Workers = 1
	})
	out := make([]reward.Result, 3)
	rows := []reward.Row{{Completion: "a", Answer: "a"}, {Completion: "b", Answer: "a"}, {Completion: "c", Answer: "c"}}
	if err := s.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if r.Err != "" {
			t.Errorf("row %d: %s", i, r.Err)
		}
	}
}

func TestSubprocessMissingProgramFailsRows(t *testing.T) {
	s, err := reward.NewSubprocess(reward.SubprocessConfig{Command: []string{"/nonexistent/verifier"}, BackoffMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := make([]reward.Result, 2)
	if err := s.Score(context.Background(), make([]reward.Row, 2), out); err != nil {
		t.Fatal(err)
	}
	for i, r := range out {
		if r.Kind != reward.KindCrash || !strings.Contains(r.Err, "cannot start") {
			t.Errorf("row %d: got %+v, want a start error", i, r)
		}
	}
}

func TestSubprocessScoreAfterCloseFails(t *testing.T) {
	s := testWorker(t, "1", nil)
	s.Close()
	if err := s.Score(context.Background(), make([]reward.Row, 1), make([]reward.Result, 1)); err == nil {
		t.Fatal("Score after Close succeeded")
	}
}

func TestPythonExampleVerifier(t *testing.T) {
	py, err := lookPython()
	if err != nil {
		t.Skip("python3 not installed")
	}
	// Under load, python3 (often a pyenv shim: a shell script running
	// more processes) can take longer to start than the default budget.
	s, err := reward.NewSubprocess(reward.SubprocessConfig{Command: []string{py, "../examples/python_verifier/verifier.py"},
		Workers: 1, Timeout: noHangTimeout, StartTimeout: noHangStartTimeout})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows := []reward.Row{
		{Completion: `so \boxed{18}`, Answer: "18"},
		{Completion: `so \boxed{17}`, Answer: "18"},
		{Completion: "#### 1,000", Answer: "1000"},
	}
	out := make([]reward.Result, len(rows))
	if err := s.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{1, 0, 1} {
		if out[i].Err != "" || out[i].Reward != want {
			t.Errorf("row %d: got %+v, want reward %v", i, out[i], want)
		}
	}
}

// httpVerifier is a loopback reward server: reward 1 when completion ==
// answer. It fails the first `flaky` requests with 503.
func httpVerifier(t *testing.T, flaky int32) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := calls.Add(1)
		if n <= flaky {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		var req struct {
			Rows []struct {
				ID         uint64 `json:"id"`
				Completion string `json:"completion"`
				Answer     string `json:"answer"`
			} `json:"rows"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var res []string
		for _, row := range req.Rows {
			switch row.Completion {
			case "ERROR":
				res = append(res, fmt.Sprintf(`{"id":%d,"error":"server says no"}`, row.ID))
			case "NAN": // as Python's json.dumps writes float("nan")
				res = append(res, fmt.Sprintf(`{"id":%d,"reward":NaN}`, row.ID))
			case "INF":
				res = append(res, fmt.Sprintf(`{"id":%d,"reward":1,"parts":{"p":-Infinity}}`, row.ID))
			case "ERRNAN": // the word inside a string is no NaN
				res = append(res, fmt.Sprintf(`{"id":%d,"error":"value: NaN, [NaN]"}`, row.ID))
			case "SKIP":
			case "SLOW":
				time.Sleep(500 * time.Millisecond)
				res = append(res, fmt.Sprintf(`{"id":%d,"reward":0}`, row.ID))
			default:
				v := 0
				if row.Completion == row.Answer {
					v = 1
				}
				res = append(res, fmt.Sprintf(`{"id":%d,"reward":%d}`, row.ID, v))
			}
		}
		io.WriteString(w, `{"results":[`+strings.Join(res, ",")+`]}`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestHTTPConformance(t *testing.T) {
	srv, _ := httpVerifier(t, 0)
	rewardtest.Run(t, func() reward.Func {
		h, err := reward.NewHTTP(reward.HTTPConfig{URL: srv.URL, Batch: 3})
		if err != nil {
			t.Fatal(err)
		}
		return h
	})
}

func TestHTTPRetriesAndRowErrors(t *testing.T) {
	srv, calls := httpVerifier(t, 2)
	h, err := reward.NewHTTP(reward.HTTPConfig{URL: srv.URL, BackoffMin: time.Millisecond, Batch: 10, MaxBytes: 400})
	if err != nil {
		t.Fatal(err)
	}
	rows := []reward.Row{
		{Completion: "a", Answer: "a"}, {Completion: "ERROR"}, {Completion: "SKIP"},
		{Completion: strings.Repeat("x", 500)}, {Completion: "b", Answer: "c"},
	}
	out := make([]reward.Result, len(rows))
	if err := h.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Err != "" || out[0].Reward != 1 || out[4].Err != "" || out[4].Reward != 0 {
		t.Errorf("good rows: got %+v and %+v", out[0], out[4])
	}
	if !strings.Contains(out[1].Err, "server says no") || out[2].Kind != reward.KindMalformed || !strings.Contains(out[3].Err, "max_bytes") {
		t.Errorf("bad rows: got %+v / %+v / %+v", out[1], out[2], out[3])
	}
	if calls.Load() < 3 {
		t.Errorf("server saw %d calls; want the 503s retried", calls.Load())
	}
}

// TestHTTPNaNRowFailsOnlyThatRow: a body with a bare NaN (not JSON, but
// what Python writes) gives that row a nan error, as PROTOCOL.md says; the
// batch's other rows keep their rewards instead of all being malformed.
func TestHTTPNaNRowFailsOnlyThatRow(t *testing.T) {
	srv, _ := httpVerifier(t, 0)
	h, err := reward.NewHTTP(reward.HTTPConfig{URL: srv.URL, Batch: 10})
	if err != nil {
		t.Fatal(err)
	}
	rows := []reward.Row{{Completion: "a", Answer: "a"}, {Completion: "NAN"}, {Completion: "INF"}, {Completion: "ERRNAN"}, {Completion: "b", Answer: "c"}}
	out := make([]reward.Result, len(rows))
	if err := h.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	if out[0].Err != "" || out[0].Reward != 1 || out[4].Err != "" || out[4].Reward != 0 {
		t.Errorf("good rows: got %+v and %+v", out[0], out[4])
	}
	if out[1].Kind != reward.KindNaN || out[2].Kind != reward.KindNaN {
		t.Errorf("NaN and -Infinity rows: got %+v and %+v, want nan errors", out[1], out[2])
	}
	if out[3].Kind != reward.KindError || !strings.Contains(out[3].Err, "value: NaN, [NaN]") {
		t.Errorf("error row: got %+v, want its message unaltered", out[3])
	}
}

func TestHTTPTimeoutAndDeadServer(t *testing.T) {
	srv, _ := httpVerifier(t, 0)
	h, _ := reward.NewHTTP(reward.HTTPConfig{URL: srv.URL, Timeout: 100 * time.Millisecond, Retries: -1})
	out := make([]reward.Result, 1)
	h.Score(context.Background(), []reward.Row{{Completion: "SLOW"}}, out)
	if out[0].Kind != reward.KindTimeout {
		t.Errorf("slow server: got %+v, want a timeout", out[0])
	}
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	h, _ = reward.NewHTTP(reward.HTTPConfig{URL: url, Retries: 2, BackoffMin: time.Millisecond})
	h.Score(context.Background(), []reward.Row{{Completion: "a"}}, out)
	if out[0].Kind != reward.KindCrash || !strings.Contains(out[0].Err, "after 3 attempts") {
		t.Errorf("dead server: got %+v", out[0])
	}
}

func TestHTTPHeaderOptionsRefuseBadValues(t *testing.T) {
	t.Setenv("RLPIPE_TEST_SET", "v")
	url := "http://127.0.0.1:1/score"
	for _, tc := range []struct {
		name string
		opts reward.Options
		want string
	}{
		{"header not a string", reward.Options{"headers": reward.Options{"X-N": 3}}, "headers.X-N"},
		{"headers not a map", reward.Options{"headers": "Authorization: x"}, "want a map"},
		{"redacted value", reward.Options{"headers": map[string]any{"Authorization": reward.RedactedValue}}, "headers_env"},
		{"unset variable", reward.Options{"headers_env": reward.Options{"Authorization": "RLPIPE_TEST_UNSET_VAR"}}, "RLPIPE_TEST_UNSET_VAR is not set"},
		{"header twice", reward.Options{"headers": map[string]string{"A": "1"}, "headers_env": reward.Options{"A": "RLPIPE_TEST_SET"}}, `"A" is in both`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opts["url"] = url
			_, err := reward.New("http", tc.opts)
			if err == nil || !errors.Is(err, reward.ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an ErrConfig mentioning %q", err, tc.want)
			}
		})
	}
}

func TestConfigRedactedHidesHeaderValuesOnly(t *testing.T) {
	cfg := reward.Config{Parts: []reward.PartConfig{
		{Kind: "http", Options: reward.Options{"url": "u", "headers": reward.Options{"Authorization": "Bearer s"}, "headers_env": reward.Options{"X": "VAR"}}},
		{Kind: "math"},
	}}
	red := cfg.Redacted()
	h := red.Parts[0].Options["headers"].(map[string]any)
	if h["Authorization"] != reward.RedactedValue || red.Parts[0].Options["headers_env"].(reward.Options)["X"] != "VAR" || red.Parts[0].Options["url"] != "u" {
		t.Errorf("redacted options = %v", red.Parts[0].Options)
	}
	if cfg.Parts[0].Options["headers"].(reward.Options)["Authorization"] != "Bearer s" {
		t.Error("Redacted modified the original configuration")
	}
}
