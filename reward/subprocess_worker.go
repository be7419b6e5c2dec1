package reward

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"time"
)

// spProc is one running worker process.
type spProc struct {
	cmd      *exec.Cmd
	stdin    *os.File
	lines    chan []byte // stdout lines; closed at EOF or read error
	readErr  error       // set before lines is closed
	waitDone chan struct{}
	waitErr  error // set before waitDone is closed
	// abandoned holds ids sent to this process that no row waits for any
	// more (their Score call was canceled); their late replies are dropped.
	abandoned map[uint64]bool
}

// maxReplyLine bounds one reply line; longer lines are malformed.
const maxReplyLine = 16 << 20

func startProc(cfg *SubprocessConfig, stderr io.Writer) (*spProc, error) {
	cmd := exec.Command(cfg.Command[0], cfg.Command[1:]...)
	cmd.Dir = cfg.Dir
	if len(cfg.Env) > 0 {
		cmd.Env = append(os.Environ(), cfg.Env...)
	}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second // grandchildren holding stderr must not block Wait
	inR, inW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	cmd.Stdin = inR
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		inR.Close()
		inW.Close()
		return nil, err
	}
	inR.Close()
	p := &spProc{cmd: cmd, stdin: inW, lines: make(chan []byte, 256), waitDone: make(chan struct{}), abandoned: map[uint64]bool{}}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), maxReplyLine)
		for sc.Scan() {
			p.lines <- append([]byte(nil), sc.Bytes()...)
		}
		p.readErr = sc.Err()
		close(p.lines)
	}()
	go func() {
		p.waitErr = cmd.Wait()
		close(p.waitDone)
	}()
	return p, nil
}

// kill ends the process and waits for it (bounded by WaitDelay).
func (p *spProc) kill() {
	p.stdin.Close()
	_ = p.cmd.Process.Kill()
	<-p.waitDone
}

// stop closes stdin, giving the process grace to exit, then kills it.
func (p *spProc) stop(grace time.Duration) {
	p.stdin.Close()
	select {
	case <-p.waitDone:
	case <-time.After(grace):
		p.kill()
	}
}

// exitStatus describes how the process ended, waiting briefly for it.
func (p *spProc) exitStatus() string {
	select {
	case <-p.waitDone:
		if p.waitErr == nil {
			return "exited with status 0"
		}
		return p.waitErr.Error()
	case <-time.After(200 * time.Millisecond):
		if p.readErr != nil {
			return "stdout: " + p.readErr.Error()
		}
		return "closed stdout"
	}
}

// spWorker owns one worker slot: a process (restarted as needed) and the
// batches it is given.
type spWorker struct {
	s        *Subprocess
	proc     *spProc
	tail     *tailBuffer
	failures int       // consecutive failures, for backoff
	started  time.Time // start of the current process
	replied  bool      // the current process has replied at least once
}

func (w *spWorker) loop() {
	defer w.s.wg.Done()
	for {
		select {
		case j := <-w.s.jobs:
			w.do(j)
		case <-w.s.done:
			if w.proc != nil {
				w.proc.stop(time.Second)
			}
			return
		}
	}
}
