package curate

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
)

// SidecarSuffix is appended to the output path to name the progress file.
const SidecarSuffix = ".progress.jsonl"

// sidecarVersion is bumped when the line format changes.
const sidecarVersion = 1

// Header is the sidecar's first line: everything that changes the
// statistics. A resume refuses a sidecar whose header differs.
type Header struct {
	Version int    `json:"version"`
	Model   string `json:"model"`
	Config  Config `json:"config"`
}

type headerLine struct {
	Header *Header `json:"header"`
}

// sidecar appends Stats lines to a progress file. Not safe for concurrent
// use.
type sidecar struct {
	f    *os.File
	path string
	buf  bytes.Buffer
}

// openSidecar opens (creating it with hdr when absent) the progress file at
// path and returns it with the statistics already recorded, by row index.
// A trailing partial line, left by a kill during a write, is cut off; any
// other malformed line, or a header other than hdr, is an ErrResume.
func openSidecar(path string, hdr Header) (*sidecar, map[int64]Stats, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("curate: %w", err)
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("curate: reading %s: %w", path, err)
	}
	s := &sidecar{f: f, path: path}
	done, good, err := parseSidecar(path, raw, hdr)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if good < len(raw) || good == 0 {
		if err := s.rewriteFrom(raw[:good], hdr); err != nil {
			f.Close()
			return nil, nil, err
		}
	}
	if _, err := f.Seek(0, io.SeekEnd); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("curate: %w", err)
	}
	return s, done, nil
}

// rewriteFrom truncates the file to its complete lines (writing the header
// into an empty file) and syncs it.
func (s *sidecar) rewriteFrom(good []byte, hdr Header) error {
	if err := s.f.Truncate(int64(len(good))); err != nil {
		return fmt.Errorf("curate: %s: %w", s.path, err)
	}
	if len(good) == 0 {
		line, err := json.Marshal(headerLine{&hdr})
		if err != nil {
			return fmt.Errorf("curate: %w", err)
		}
		if _, err := s.f.WriteAt(append(line, '\n'), 0); err != nil {
			return fmt.Errorf("curate: %s: %w", s.path, err)
		}
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("curate: %s: %w", s.path, err)
	}
	return nil
}

// parseSidecar reads a progress file's contents: it returns the recorded
// statistics and the length of its complete lines. The first line must be
// hdr; later lines are Stats, the first record of a row index winning.
func parseSidecar(path string, raw []byte, hdr Header) (map[int64]Stats, int, error) {
	done := map[int64]Stats{}
	good := bytes.LastIndexByte(raw, '\n') + 1
	want, _ := json.Marshal(hdr)
	for n, line := range bytes.Split(raw[:good], []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		if n == 0 {
			var h headerLine
			if err := json.Unmarshal(line, &h); err != nil || h.Header == nil {
				return nil, 0, fmt.Errorf("%w: %s line 1 is not a curation header", ErrResume, path)
			}
			if got, _ := json.Marshal(h.Header); !bytes.Equal(got, want) {
				return nil, 0, fmt.Errorf("%w: %s was written with other settings (%s, now %s); use the same flags, or delete it to start over",
					ErrResume, path, got, want)
			}
			continue
		}
		var st Stats
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&st); err != nil {
			return nil, 0, fmt.Errorf("%w: %s line %d: %w", ErrResume, path, n+1, err)
		}
		if err := st.check(); err != nil {
			return nil, 0, fmt.Errorf("%w: %s line %d: %w", ErrResume, path, n+1, err)
		}
		if _, dup := done[st.Index]; !dup {
			done[st.Index] = st
		}
	}
	return done, good, nil
}

// check rejects statistics that no curation writes.
func (s Stats) check() error {
	switch {
	case s.Index < 0:
		return errors.New("negative index")
	case s.Samples < 1 || s.Correct < 0 || s.Correct > s.Samples:
		return fmt.Errorf("correct %d of %d samples", s.Correct, s.Samples)
	case !(s.PassRate >= 0 && s.PassRate <= 1) || !(s.OVS >= 0 && s.OVS <= 0.25) || !(s.TDS >= 0 && s.TDS <= 1):
		return fmt.Errorf("statistics out of range (pass_rate %v, ovs %v, tds %v)", s.PassRate, s.OVS, s.TDS)
	}
	return nil
}

// append writes one batch's lines and fsyncs them, so a kill loses at most
// the batch in flight.
func (s *sidecar) append(batch []Stats) error {
	s.buf.Reset()
	enc := json.NewEncoder(&s.buf)
	for _, st := range batch {
		if err := enc.Encode(st); err != nil {
			return fmt.Errorf("curate: %w", err)
		}
	}
	if _, err := s.f.Write(s.buf.Bytes()); err != nil {
		return fmt.Errorf("curate: %s: %w", s.path, err)
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("curate: %s: %w", s.path, err)
	}
	return nil
}

func (s *sidecar) close() error { return s.f.Close() }
