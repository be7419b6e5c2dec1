//go:build linux

package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY returns a pseudo-terminal pair: what is written to slave is read
// from master. log.progress draws its bar only on a terminal, so only a
// terminal can show the key's effect.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	var unlock int32
	var n uint32
	for _, c := range []struct {
		req uintptr
		arg unsafe.Pointer
	}{{syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)}, {syscall.TIOCGPTN, unsafe.Pointer(&n)}} {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), c.req, uintptr(c.arg)); errno != 0 {
			m.Close()
			t.Skipf("no pseudo-terminal: ioctl: %v", errno)
		}
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		t.Skipf("no pseudo-terminal: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	return m, s
}

// log.progress replaces the SFT's per-step log lines on a terminal with a
// live progress bar (labelled with the loss); off, the terminal gets the
// log lines.
func TestLogProgressDrawsABarOnATerminal(t *testing.T) {
	for _, progress := range []bool{false, true} {
		t.Run(fmt.Sprint("log.progress ", progress), func(t *testing.T) {
			master, slave := openPTY(t)
			var screen bytes.Buffer
			done := make(chan struct{})
			go func() {
				io.Copy(&screen, master) // ends with EIO once slave is closed
				close(done)
			}()
			cfg := smallRunConfig()
			cfg.SFT.Steps, cfg.SFT.BatchSize, cfg.SFT.Examples = 3, 4, 40
			cfg.Log.Progress = progress
			r := &runner{cfg: cfg, log: slave}
			_, err := r.sft(context.Background(), t.TempDir(), false)
			slave.Close()
			<-done
			if err != nil {
				t.Fatal(err)
			}
			out := screen.String()
			if lines := strings.Contains(out, "sft step 3/3: loss"); lines == progress {
				t.Errorf("per-step log lines shown: %v, want %v; the terminal got:\n%q", lines, !progress, out)
			}
			if bar := strings.Contains(out, "sft loss"); bar != progress {
				t.Errorf("progress bar shown: %v, want %v; the terminal got:\n%q", bar, progress, out)
			}
		})
	}
}
