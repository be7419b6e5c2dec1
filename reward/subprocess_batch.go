package reward

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// batchState tracks one job (up to Batch rows of a Score call) on one
// worker.
type batchState struct {
	j        *spJob
	pending  []int          // row indices to send, suspects first
	inflight map[uint64]int // request id → row index
	failures []int          // worker failures while the row was alone in flight
	suspect  []bool         // row was in flight at a crash: it is sent alone
	suspects int            // suspect rows without a result yet
	barren   int            // rows failed one after another with no reply in between
}

// maxRowFailures is how many failures a row must cause, alone in flight,
// before it gets the error: a worker that dies once is restarted and its
// row retried.
const maxRowFailures = 2

// maxBarrenRows is how many rows in a row may fail alone, with no reply in
// between, before the job's remaining rows get the last error: a worker
// that dies on every request is restarted about 2×maxBarrenRows times, not
// twice per row.
const maxBarrenRows = 3

// timeoutsPerWorker is a Score call's timeout budget per worker in use:
// past it, the call's unanswered rows get a timeout without being (re)sent,
// so a hung plugin costs about timeoutsPerWorker × (timeout+start_timeout)
// per call, whatever its size.
const timeoutsPerWorker = 2

func (w *spWorker) do(j *spJob) {
	defer j.wg.Done()
	b := &batchState{j: j, inflight: map[uint64]int{}, failures: make([]int, len(j.rows)), suspect: make([]bool, len(j.rows))}
	for i := range j.rows {
		b.pending = append(b.pending, i)
	}
	if msg, over := j.batch.overBudget(); over {
		b.failRemaining(KindTimeout, msg)
		return
	}
	for len(b.pending) > 0 || len(b.inflight) > 0 {
		if err := j.ctx.Err(); err != nil {
			w.abandon(b)
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

// abandon records the in-flight ids of b on the process, so that their
// late replies are ignored rather than reported as unknown.
func (w *spWorker) abandon(b *batchState) {
	if w.proc == nil {
		return
	}
	for id := range b.inflight {
		w.proc.abandoned[id] = true
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
			w.unknownID(b, id)
			return
		}
		delete(b.inflight, id)
		b.settle(i)
		rep.fill(&b.j.out[i], "subprocess")
		w.replied, w.failures, b.barren = true, 0, 0
	case <-t.C:
		w.timeout(b, budget)
	case <-b.j.ctx.Done():
	case <-w.s.done:
		b.failRemaining(KindError, "subprocess: "+ErrClosed.Error())
	}
}

// unknownID handles a reply whose id no row waits for. A late reply to a
// request abandoned on cancellation is dropped. Any other is a protocol
// error: with one row in flight the reply was certainly meant for it, and
// that row gets the error at once; with several, the worker cannot be
// trusted to match ids, so it is restarted and the rows are resent one at
// a time until the culprit is alone.
func (w *spWorker) unknownID(b *batchState, id uint64) {
	if w.proc.abandoned[id] {
		delete(w.proc.abandoned, id)
		return
	}
	msg := fmt.Sprintf("protocol error: reply with unknown id %d", id)
	if len(b.inflight) == 1 {
		for sent, i := range b.inflight {
			delete(b.inflight, sent)
			b.settle(i)
			b.j.out[i].Fail(KindMalformed, "subprocess: %s (the request's id was %d)", msg, sent)
		}
		w.replied, w.failures, b.barren = true, 0, 0
		return
	}
	w.fail(b, KindMalformed, fmt.Sprintf("%s (%d rows in flight)", msg, len(b.inflight)))
}

// settle marks row i as having its result.
func (b *batchState) settle(i int) {
	if b.suspect[i] {
		b.suspect[i] = false
		b.suspects--
	}
}

// kill ends the process after a failure, to be restarted with backoff.
func (w *spWorker) kill() {
	w.proc.kill()
	w.proc = nil
	w.failures++
}

// withTail appends the stderr tail of the current process to msg.
func (w *spWorker) withTail(msg string) string {
	if tail := w.tail.String(); tail != "" {
		msg += "; stderr tail: " + clip(tail, 1024)
	}
	return msg
}

// timeout handles a worker that sent no reply within budget. A worker reads
// its requests in order, so the oldest unanswered row is the one it is
// stuck on (or, if it answers concurrently, one that waited longest): that
// row gets the timeout at once. The worker is killed and the other
// in-flight rows go back, in order and all together, to its replacement.
// Once the Score call has used its timeout budget, every row left gets a
// timeout instead of being resent.
func (w *spWorker) timeout(b *batchState, budget time.Duration) {
	msg := w.withTail(fmt.Sprintf("no reply within %v (worker killed)", budget))
	w.kill()
	ids := make([]uint64, 0, len(b.inflight))
	for id := range b.inflight {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	head := b.inflight[ids[0]]
	b.settle(head)
	b.j.out[head].Fail(KindTimeout, "subprocess: %s", msg)
	resend := make([]int, 0, len(ids)-1)
	for _, id := range ids[1:] {
		resend = append(resend, b.inflight[id])
	}
	clear(b.inflight)
	b.pending = append(resend, b.pending...)
	b.j.batch.timeouts.Add(1)
	if over, ok := b.j.batch.overBudget(); ok {
		b.failRemaining(KindTimeout, over+"; last: "+msg)
	}
}

// fail kills the process after a crash or protocol error and retries the
// in-flight rows alone. Only a row that was alone in flight is charged
// with the failure: with several in flight, the culprit is unknown (the
// others may not even have been read, e.g. behind a crashing row), and
// charging them all would spend the one retry of a row whose worker later
// dies on it once. A row charged maxRowFailures times gets the error; when
// maxBarrenRows rows in a row have, with no reply in between, the rows
// left get it too.
func (w *spWorker) fail(b *batchState, kind ErrorKind, msg string) {
	msg = w.withTail(msg)
	w.kill()
	alone := len(b.inflight) == 1
	var retry []int
	for id, i := range b.inflight {
		delete(b.inflight, id)
		if alone {
			b.failures[i]++
		}
		if b.failures[i] >= maxRowFailures {
			b.settle(i)
			b.j.out[i].Fail(kind, "subprocess: %s", msg)
			b.barren++
			continue
		}
		if !b.suspect[i] {
			b.suspect[i] = true
			b.suspects++
		}
		retry = append(retry, i)
	}
	b.pending = append(retry, b.pending...)
	if b.barren >= maxBarrenRows {
		b.failRemaining(kind, fmt.Sprintf("subprocess: not answered: %d rows in a row failed with no reply in between; last: %s", b.barren, msg))
	}
}

// failRemaining records err on every row not yet answered.
func (b *batchState) failRemaining(kind ErrorKind, msg string) {
	for id, i := range b.inflight {
		delete(b.inflight, id)
		b.settle(i)
		b.j.out[i].Fail(kind, "%s", msg)
	}
	for _, i := range b.pending {
		b.settle(i)
		b.j.out[i].Fail(kind, "%s", msg)
	}
	b.pending = nil
}
