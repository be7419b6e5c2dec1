package reward_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
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
// CRASHONCE crashes only the first time (marker file in RLPIPE_MARKER).
// Otherwise the reward is 1 when completion == answer, with a part "len".
func runTestWorker(mode string) {
	if strings.HasPrefix(mode, "slow:") {
		d, _ := time.ParseDuration(strings.TrimPrefix(mode, "slow:"))
		time.Sleep(d)
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
