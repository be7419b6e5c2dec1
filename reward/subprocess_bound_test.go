package reward_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/rlpipe/rlpipe/reward"
)

// defaultStepRows is the number of rows one RL step scores with the
// embedded default configuration (`rlpipe config default`):
// train.prompts_per_step 16 × rollout.g 8.
const defaultStepRows = 16 * 8

// boundRows builds n rows that the test worker answers with reward 1,
// except at the indices in special, whose completion is the given
// misbehaviour (HANG, WRONGID, ...).
func boundRows(n int, special map[int]string) []reward.Row {
	rows := make([]reward.Row, n)
	for i := range rows {
		c := fmt.Sprintf("r%d", i)
		if s, ok := special[i]; ok {
			c = s
		}
		rows[i] = reward.Row{Completion: c, Answer: fmt.Sprintf("r%d", i)}
	}
	return rows
}

// defaultPool is a pool with the default workers (2) and batch (64), as a
// user's `subprocess:` spec gets, and the given timeouts.
func defaultPool(t *testing.T, mode string, timeout, startTimeout time.Duration) *reward.Subprocess {
	return testWorker(t, mode, func(c *reward.SubprocessConfig) {
		c.Workers, c.Batch = 0, 0
		c.Timeout, c.StartTimeout = timeout, startTimeout
	})
}

func scoreTimed(t *testing.T, s *reward.Subprocess, rows []reward.Row) ([]reward.Result, time.Duration) {
	t.Helper()
	out := make([]reward.Result, len(rows))
	start := time.Now()
	if err := s.Score(context.Background(), rows, out); err != nil {
		t.Fatal(err)
	}
	return out, time.Since(start)
}

// TestSubprocessHungPluginCostsAFewTimeoutsPerStep is the worst case of a
// default step: a plugin that hangs on every row. Each of the two workers
// times out on its head row, restarts, times out again, and the batch's
// timeout budget (2 per worker in use) then fails every row left. That is
// about 2 × (timeout + start_timeout) = 0.8 s plus process starts, where the
// old one-row-at-a-time retry took 64 × 2 × 0.4 s ≈ 51 s. The bound, 10 ×
// (timeout + start_timeout) = 4 s, leaves 3.2 s for the 4 process starts,
// backoffs and scheduling: timers do not slow down under CPU load, only
// exec and goroutine wake-ups do, and those take milliseconds each.
func TestSubprocessHungPluginCostsAFewTimeoutsPerStep(t *testing.T) {
	const timeout = 200 * time.Millisecond
	s := defaultPool(t, "1", timeout, timeout)
	special := map[int]string{}
	for i := 0; i < defaultStepRows; i++ {
		special[i] = "HANG"
	}
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, special))
	t.Logf("%d hung rows, timeout %v + start_timeout %v: batch took %v", defaultStepRows, timeout, timeout, took)
	for i, r := range out {
		if r.Kind != reward.KindTimeout {
			t.Fatalf("row %d: got %+v, want a timeout", i, r)
		}
	}
	if bound := 10 * (timeout + timeout); took > bound {
		t.Errorf("batch of %d hung rows took %v, want < %v", defaultStepRows, took, bound)
	}
}

// TestSubprocessHangOnSomeRowsFailsOnlyThoseRows: the worker answers in
// order, so at a timeout the oldest unanswered row is the one it hangs on;
// that row gets the timeout and the rows behind it are resent together to
// a fresh worker. Three hangs cost three timeouts, two of them on one
// worker one after the other (the old one-row-at-a-time retry took 128 s).
// A timeout of 1 s (and a long start_timeout) keeps load from failing a
// healthy row. Here the restarted workers' starts are on the critical
// path, and on a loaded machine (load 17 on 2 cores was seen) one start
// can take seconds, so the bound is 10 timeouts plus 3 sequential starts
// at 3 × the start time measured just before.
func TestSubprocessHangOnSomeRowsFailsOnlyThoseRows(t *testing.T) {
	const timeout = time.Second
	start := startCost(t)
	s := defaultPool(t, "1", timeout, noHangStartTimeout)
	special := map[int]string{10: "HANG", 50: "HANG", 70: "HANG"}
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, special))
	t.Logf("3 hung rows of %d, timeout %v: batch took %v", defaultStepRows, timeout, took)
	for i, r := range out {
		if special[i] == "HANG" {
			if r.Kind != reward.KindTimeout || !strings.Contains(r.Err, "no reply within") {
				t.Errorf("hung row %d: got %+v, want a timeout", i, r)
			}
		} else if r.Err != "" || r.Reward != 1 {
			t.Errorf("row %d: got %+v, want reward 1", i, r)
		}
	}
	if bound := 10*timeout + 3*3*start; took > bound {
		t.Errorf("took %v, want < %v (a start took %v)", took, bound, start)
	}
}

// startCost measures a fresh test worker's start and first reply.
func startCost(t *testing.T) time.Duration {
	s := testWorker(t, "1", func(c *reward.SubprocessConfig) { c.Workers = 1 })
	_, took := scoreTimed(t, s, boundRows(1, nil))
	return took
}

// TestSubprocessWrongIDIsAProtocolError: a reply whose id was never sent is
// a malformed row naming the id, found without waiting for any timeout
// (with a timer deciding, the rows would have timeout errors; idle, the
// whole test takes under half a second).
func TestSubprocessWrongIDIsAProtocolError(t *testing.T) {
	s := defaultPool(t, "1", noHangTimeout, noHangStartTimeout)
	special := map[int]string{}
	for i := 3; i < defaultStepRows; i += 9 {
		special[i] = "WRONGID"
	}
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, special))
	t.Logf("%d wrong-id rows of %d: batch took %v", len(special), defaultStepRows, took)
	for i, r := range out {
		if special[i] == "WRONGID" {
			if r.Kind != reward.KindMalformed || !strings.Contains(r.Err, "unknown id") {
				t.Errorf("wrong-id row %d: got %+v, want a malformed error naming the unknown id", i, r)
			}
		} else if r.Err != "" || r.Reward != 1 {
			t.Errorf("row %d: got %+v, want reward 1", i, r)
		}
	}
}

// TestSubprocessWrongIDAloneNamesTheID: with one row in flight the reply is
// certainly that row's, and its error names both ids.
func TestSubprocessWrongIDAloneNamesTheID(t *testing.T) {
	s := testWorker(t, "1", func(c *reward.SubprocessConfig) { c.Workers = 1 })
	out, _ := scoreTimed(t, s, []reward.Row{{Completion: "WRONGID"}})
	if out[0].Kind != reward.KindMalformed || !strings.Contains(out[0].Err, "unknown id 1000000") {
		t.Errorf("got %+v, want a malformed error naming the unknown id", out[0])
	}
}

// TestSubprocessCrashMidBatchRetriesTheRest: every worker process dies on
// reading its 11th request. The rows in flight are resent on fresh
// processes and every row gets its reward (a timeout would show as an
// error); the time is process starts only, about 20 of them.
func TestSubprocessCrashMidBatchRetriesTheRest(t *testing.T) {
	s := defaultPool(t, "crashafter:10", noHangTimeout, noHangStartTimeout)
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, nil))
	t.Logf("worker dying every 10 replies, %d rows: batch took %v", defaultStepRows, took)
	for i, r := range out {
		if r.Err != "" || r.Reward != 1 {
			t.Errorf("row %d: got %+v, want reward 1", i, r)
		}
	}
}

// TestSubprocessWorkerThatAlwaysDiesGivesUp: a worker that dies on every
// request would otherwise be restarted twice per row; after three rows fail
// in a row with no reply in between, the rest of the batch gets the crash:
// about 7 restarts per worker (each a crash, not a timeout, as the rows'
// kinds show) instead of 2 per row.
func TestSubprocessWorkerThatAlwaysDiesGivesUp(t *testing.T) {
	s := defaultPool(t, "crashafter:0", noHangTimeout, noHangStartTimeout)
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, nil))
	t.Logf("worker dying on every request, %d rows: batch took %v", defaultStepRows, took)
	for i, r := range out {
		if r.Kind != reward.KindCrash || !strings.Contains(r.Err, "dying mid-batch") {
			t.Fatalf("row %d: got %+v, want a crash with the stderr tail", i, r)
		}
	}
}

// TestPythonPluginThatHangsOrMisnumbers runs the default step against a
// Python plugin (testdata/plugins/misbehave.py), first hanging on every
// row: all rows get timeouts after about 2 × (timeout + start_timeout) =
// 2.4 s. Python's start-up runs inside those budgets (a hung row times out
// whether python3 started or not), so load adds only fork/exec and
// scheduling to the time; the bound, 10 × (timeout + start_timeout) =
// 12 s, leaves 9.6 s for that. Then, with budgets no load can exhaust, a
// plugin replying with wrong ids gets malformed rows naming them.
func TestPythonPluginThatHangsOrMisnumbers(t *testing.T) {
	py, err := lookPython()
	if err != nil {
		t.Skip("python3 not installed")
	}
	const timeout, startTimeout = 200 * time.Millisecond, time.Second
	s, err := reward.NewSubprocess(reward.SubprocessConfig{Command: []string{py, "testdata/plugins/misbehave.py"},
		Timeout: timeout, StartTimeout: startTimeout, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	hang, wrong := map[int]string{}, map[int]string{}
	for i := 0; i < defaultStepRows; i++ {
		hang[i] = "HANG"
		if i%5 == 0 {
			wrong[i] = "WRONGID"
		}
	}
	out, took := scoreTimed(t, s, boundRows(defaultStepRows, hang))
	t.Logf("python plugin, %d hung rows: batch took %v", defaultStepRows, took)
	for i, r := range out {
		if r.Kind != reward.KindTimeout {
			t.Fatalf("row %d: got %+v, want a timeout", i, r)
		}
	}
	if bound := 10 * (timeout + startTimeout); took > bound {
		t.Errorf("took %v, want < %v", took, bound)
	}
	s, err = reward.NewSubprocess(reward.SubprocessConfig{Command: []string{py, "testdata/plugins/misbehave.py"},
		Timeout: noHangTimeout, StartTimeout: noHangStartTimeout, BackoffMin: time.Millisecond, BackoffMax: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out, took = scoreTimed(t, s, boundRows(defaultStepRows, wrong))
	t.Logf("python plugin, %d of %d rows with wrong ids: batch took %v", len(wrong), defaultStepRows, took)
	for i, r := range out {
		if wrong[i] != "" && (r.Kind != reward.KindMalformed || !strings.Contains(r.Err, "unknown id")) || wrong[i] == "" && (r.Err != "" || r.Reward != 1) {
			t.Fatalf("row %d (%q): got %+v", i, wrong[i], r)
		}
	}
}
