package app

import (
	"bufio"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// child is rlpipe running as a child process (the test binary re-executed,
// see TestMain) whose stderr tests read.
type child struct {
	cmd    *exec.Cmd
	stderr *lockedBuffer
	done   chan struct{} // closed once stderr ends: the child has exited
}

// startChild starts `rlpipe args...` and waits up to wait until a line of
// its stderr matches listen, returning the match's first group (the
// address). what names the child in failures. The child is killed when the
// test ends if still running.
func startChild(t *testing.T, what string, wait time.Duration, listen *regexp.Regexp, args ...string) (*child, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "RLPIPE_TEST_AS_CLI=1")
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &lockedBuffer{}, done: make(chan struct{})}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			c.stderr.add(sc.Text() + "\n")
			if m := listen.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return c, a
	case <-c.done:
		cmd.Wait()
		t.Fatalf("%s exited before listening: %v\n%s", what, cmd.ProcessState, c.stderr)
	case <-time.After(wait):
		t.Fatalf("%s did not report its address:\n%s", what, c.stderr)
	}
	return nil, ""
}

// signalAndWait sends sig, waits for the child to exit and returns the
// error of cmd.Wait.
func (c *child) signalAndWait(t *testing.T, sig os.Signal) error {
	t.Helper()
	if err := c.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	<-c.done
	return c.cmd.Wait()
}

// lockedBuffer collects a child's output while tests read it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) add(s string) {
	l.mu.Lock()
	l.b.WriteString(s)
	l.mu.Unlock()
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
