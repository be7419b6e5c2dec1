package reward_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// workerEnv makes the test binary act as a subprocess reward worker.
const workerEnv = "RLPIPE_REWARD_TEST_WORKER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(workerEnv); mode != "" {
		runTestWorker(mode)
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// runTestWorker speaks the subprocess protocol. The completion selects a
// misbehaviour: CRASH exits, HANG blocks, GARBAGE writes a non-JSON line,
// NAN replies NaN, ERROR replies an error, BADREWARD a string reward,
// CRASHONCE crashes only the first time (marker file in RLPIPE_MARKER),
// WRONGID replies with an id that was never sent (the request's + 10^9).
// Otherwise the reward is 1 when completion == answer, with a part "len".
// Mode "slow:D" sleeps D before reading; "crashafter:N" exits (status 5)
// on reading its (N+1)th request, as a worker that dies mid-batch.
func runTestWorker(mode string) {
	if strings.HasPrefix(mode, "slow:") {
		d, _ := time.ParseDuration(strings.TrimPrefix(mode, "slow:"))
		time.Sleep(d)
	}
	crashAfter := -1
	if n, ok := strings.CutPrefix(mode, "crashafter:"); ok {
		crashAfter, _ = strconv.Atoi(n)
	}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(nil, 1<<24)
	w := bufio.NewWriter(os.Stdout)
	for sc.Scan() {
		var req struct {
			ID         uint64          `json:"id"`
			Completion string          `json:"completion"`
			Answer     string          `json:"answer"`
			Meta       json.RawMessage `json:"meta"`
		}
		if err := json.Unmarshal(sc.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		if crashAfter == 0 {
			w.Flush()
			fmt.Fprintln(os.Stderr, "worker: dying mid-batch")
			os.Exit(5)
		}
		crashAfter--
		switch req.Completion {
		case "CRASH":
			fmt.Fprintln(os.Stderr, "worker: boom on request", req.ID)
			os.Exit(3)
		case "CRASHONCE":
			marker := os.Getenv("RLPIPE_MARKER")
			if _, err := os.Stat(marker); err != nil {
				os.WriteFile(marker, []byte("x"), 0o644)
				os.Exit(4)
			}
		case "HANG":
			w.Flush()
			time.Sleep(time.Hour)
		case "GARBAGE":
			fmt.Fprintln(w, "this is not json")
			w.Flush()
			continue
		case "NAN":
			fmt.Fprintf(w, `{"id": %d, "reward": NaN}`+"\n", req.ID)
			w.Flush()
			continue
		case "ERROR":
			fmt.Fprintf(w, `{"id": %d, "error": "bad row"}`+"\n", req.ID)
			w.Flush()
			continue
		case "WRONGID":
			fmt.Fprintf(w, `{"id": %d, "reward": 1}`+"\n", req.ID+1e9)
			w.Flush()
			continue
		case "BADREWARD":
			fmt.Fprintf(w, `{"id": %d, "reward": "high"}`+"\n", req.ID)
			w.Flush()
			continue
		}
		r := 0.0
		if req.Completion == req.Answer {
			r = 1
		}
		fmt.Fprintf(w, `{"id": %d, "reward": %g, "parts": {"len": %d}}`+"\n", req.ID, r, len(req.Completion))
		if len(sc.Bytes()) > 0 && !moreBuffered(sc) {
			w.Flush()
		}
	}
	w.Flush()
}

// moreBuffered is false: the worker flushes after every reply so that the
// pool's per-request timeout measures real progress.
func moreBuffered(*bufio.Scanner) bool { return false }
