package reward

import (
	"bufio"
	"encoding/json"
	"fmt"
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
	p := &spProc{cmd: cmd, stdin: inW, lines: make(chan []byte, 256), waitDone: make(chan struct{})}
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

// batchState tracks one batch on one worker.
type batchState struct {
	j        *spJob
	pending  []int          // row indices to send, suspects first
	inflight map[uint64]int // request id → row index
	failures []int          // worker failures while the row was alone in flight
	suspect  []bool         // row was in flight at a worker failure: it is sent alone
	suspects int            // suspect rows without a result yet
}

// maxRowFailures is how many failures a row must cause, alone in flight,
// before it gets the error: a worker that dies once is restarted and its
// row retried.
const maxRowFailures = 2

func (w *spWorker) do(j *spJob) {
	defer j.wg.Done()
	b := &batchState{j: j, inflight: map[uint64]int{}, failures: make([]int, len(j.rows)), suspect: make([]bool, len(j.rows))}
	for i := range j.rows {
		b.pending = append(b.pending, i)
	}
	for len(b.pending) > 0 || len(b.inflight) > 0 {
		if err := j.ctx.Err(); err != nil {
			b.failRemaining(KindCanceled, "subprocess: "+err.Error())
			return
		}
		if w.proc == nil {
			if !w.start(b) {
				return
			}
		}
		if err := w.send(b); err != nil {
			w.fail(b, KindCrash, "write to worker: "+err.Error())
			continue
		}
		w.receive(b)
	}
}

// start (re)starts the process after backoff; on repeated failure it fails
// the batch's remaining rows and returns false.
func (w *spWorker) start(b *batchState) bool {
	for {
		if w.failures > 0 {
			t := time.NewTimer(w.s.backoff(w.failures))
			select {
			case <-t.C:
			case <-b.j.ctx.Done():
				t.Stop()
				b.failRemaining(KindCanceled, "subprocess: "+b.j.ctx.Err().Error())
				return false
			case <-w.s.done:
				t.Stop()
				b.failRemaining(KindError, "subprocess: "+ErrClosed.Error())
				return false
			}
		}
		w.tail = &tailBuffer{n: 4096}
		p, err := startProc(&w.s.cfg, w.tail)
		if err == nil {
			w.proc, w.started, w.replied = p, time.Now(), false
			return true
		}
		w.failures++
		if w.failures >= w.s.cfg.MaxStarts {
			b.failRemaining(KindCrash, fmt.Sprintf("subprocess: cannot start %q: %v", w.s.cfg.Command, err))
			w.failures = w.s.cfg.MaxStarts - 1 // the next batch tries once more
			return false
		}
	}
}

// send fills the in-flight window (one row while suspects remain) with a
// single write.
func (w *spWorker) send(b *batchState) error {
	window := w.s.cfg.Batch
	if b.suspects > 0 {
		window = 1
	}
	var buf []byte
	for len(b.inflight) < window && len(b.pending) > 0 {
		i := b.pending[0]
		b.pending = b.pending[1:]
		id := w.s.nextID.Add(1)
		b.inflight[id] = i
		line, err := json.Marshal(newWireRequest(id, &b.j.rows[i]))
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	_ = w.proc.stdin.SetWriteDeadline(time.Now().Add(w.s.cfg.Timeout))
	_, err := w.proc.stdin.Write(buf)
	return err
}

// receive waits for one reply (or a failure) and records it.
func (w *spWorker) receive(b *batchState) {
	budget := w.s.cfg.Timeout
	if !w.replied {
		budget += w.s.cfg.StartTimeout
	}
	t := time.NewTimer(budget)
	defer t.Stop()
	select {
	case line, ok := <-w.proc.lines:
		if !ok {
			w.fail(b, KindCrash, "worker died ("+w.proc.exitStatus()+")")
			return
		}
		rep, id, err := decodeReply(line)
		if err != nil {
			w.fail(b, KindMalformed, fmt.Sprintf("malformed reply %q: %v", clip(string(line), 200), err))
			return
		}
		i, ok := b.inflight[id]
		if !ok {
			return // a late reply to a request abandoned earlier
		}
		delete(b.inflight, id)
		if b.suspect[i] {
			b.suspects--
		}
		rep.fill(&b.j.out[i], "subprocess")
		w.replied, w.failures = true, 0
	case <-t.C:
		w.fail(b, KindTimeout, fmt.Sprintf("no reply within %v (worker killed)", budget))
	case <-b.j.ctx.Done():
	case <-w.s.done:
		b.failRemaining(KindError, "subprocess: "+ErrClosed.Error())
	}
}

// fail kills the process after a crash, hang or protocol error and
// retries the in-flight rows alone. Only a row that was alone in flight is
// charged with the failure: with several in flight, the culprit is unknown
// (the others may not even have been read, e.g. behind a crashing row or
// when a slow start times out), and charging them all would spend the one
// retry of a row whose worker later dies on it once. A row charged
// maxRowFailures times gets the error.
func (w *spWorker) fail(b *batchState, kind ErrorKind, msg string) {
	w.proc.kill()
	w.proc = nil
	w.failures++
	if tail := w.tail.String(); tail != "" {
		msg += "; stderr tail: " + clip(tail, 1024)
	}
	alone := len(b.inflight) == 1
	var retry []int
	for id, i := range b.inflight {
		delete(b.inflight, id)
		if alone {
			b.failures[i]++
		}
		if b.failures[i] >= maxRowFailures {
			b.j.out[i].Fail(kind, "subprocess: %s", msg)
			if b.suspect[i] {
				b.suspects--
			}
			continue
		}
		if !b.suspect[i] {
			b.suspect[i] = true
			b.suspects++
		}
		retry = append(retry, i)
	}
	b.pending = append(retry, b.pending...)
}

// failRemaining records err on every row not yet answered.
func (b *batchState) failRemaining(kind ErrorKind, msg string) {
	for id, i := range b.inflight {
		delete(b.inflight, id)
		b.j.out[i].Fail(kind, "%s", msg)
	}
	for _, i := range b.pending {
		b.j.out[i].Fail(kind, "%s", msg)
	}
	b.pending = nil
}
