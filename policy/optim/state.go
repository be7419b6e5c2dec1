package optim

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/klauspost/compress/zstd"
)

// stateMagic opens every saved AdamW state; stateVersion is its layout.
const (
	stateMagic   = "RLPADAMW"
	stateVersion = 1
	maxNameLen   = 1 << 16
)

// Save writes the optimizer state: a magic string and version, the step
// count, the configuration (Beta1, Beta2, Eps, WeightDecay are checked on
// Load), then for each bound param its name, length and the first and
// second moments, all little-endian. An unbound optimizer saves zero
// params.
func (o *AdamW) Save(w io.Writer) error {
	bw := bufio.NewWriter(w)
	bw.WriteString(stateMagic)
	putU64(bw, stateVersion)
	putU64(bw, uint64(o.step))
	for _, f := range o.hyper() {
		putU64(bw, math.Float64bits(f))
	}
	putU64(bw, uint64(len(o.names)))
	for i, name := range o.names {
		putU64(bw, uint64(len(name)))
		bw.WriteString(name)
		putU64(bw, uint64(len(o.m[i])))
		putFloats(bw, o.m[i])
		putFloats(bw, o.v[i])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("optim: save state: %w", err)
	}
	return nil
}

// hyper lists the hyperparameters that must match between Save and Load.
func (o *AdamW) hyper() [4]float64 {
	return [4]float64{o.cfg.Beta1, o.cfg.Beta2, o.cfg.Eps, o.cfg.WeightDecay}
}

// Load restores state written by Save and binds the optimizer to params,
// which may be in any order but must have exactly the saved names and
// sizes. On any error the optimizer is left unchanged; errors wrap ErrState
// and name the param. Memory use is bounded by params' sizes, never by
// lengths read from r. Load fails on an optimizer that has already stepped.
// The state of an optimizer that never stepped (zero params, step 0) loads
// into any valid params as fresh zero moments.
func (o *AdamW) Load(r io.Reader, params []Param) error {
	if o.step != 0 {
		return fmt.Errorf("%w: Load into an optimizer that already took %d steps", ErrState, o.step)
	}
	if err := checkParams(params); err != nil {
		return fmt.Errorf("%w: %w", ErrState, err)
	}
	br := bufio.NewReader(r)
	step, err := o.readPreamble(br)
	if err != nil {
		return err
	}
	n, err := getU64(br)
	if err != nil {
		return fmt.Errorf("%w: param count: %w", ErrState, err)
	}
	fresh := n == 0 && step == 0 // saved by an optimizer that never stepped
	if !fresh && n != uint64(len(params)) {
		return fmt.Errorf("%w: state holds %d params, model has %d", ErrState, n, len(params))
	}
	index := make(map[string]int, len(params))
	for i, p := range params {
		index[p.Name] = i
	}
	m := make([][]float32, len(params))
	v := make([][]float32, len(params))
	if fresh {
		for i, p := range params {
			m[i], v[i] = make([]float32, len(p.Value)), make([]float32, len(p.Value))
		}
	}
	for k := range n {
		i, err := readParam(br, k, index, params, m, v)
		if err != nil {
			return err
		}
		delete(index, params[i].Name)
	}
	switch _, err := br.ReadByte(); {
	case err == nil:
		return fmt.Errorf("%w: trailing bytes after the last param", ErrState)
	case err != io.EOF:
		return fmt.Errorf("%w: after the last param: %w", ErrState, err)
	}
	o.step = int64(step)
	o.names = make([]string, len(params))
	for i, p := range params {
		o.names[i] = p.Name
	}
	o.m, o.v = m, v
	return nil
}

// readPreamble checks magic, version and hyperparameters, returning the
// step count.
func (o *AdamW) readPreamble(br *bufio.Reader) (uint64, error) {
	magic := make([]byte, len(stateMagic))
	if _, err := io.ReadFull(br, magic); err != nil || string(magic) != stateMagic {
		return 0, fmt.Errorf("%w: not an AdamW state (bad magic)", ErrState)
	}
	ver, err := getU64(br)
	if err != nil || ver != stateVersion {
		return 0, fmt.Errorf("%w: state version %d unsupported (this build reads %d)", ErrState, ver, stateVersion)
	}
	step, err := getU64(br)
	if err != nil || step > math.MaxInt64 {
		return 0, fmt.Errorf("%w: step count: bad or missing", ErrState)
	}
	names := [4]string{"beta1", "beta2", "eps", "weight_decay"}
	for i, want := range o.hyper() {
		bits, err := getU64(br)
		if err != nil {
			return 0, fmt.Errorf("%w: %s: %w", ErrState, names[i], err)
		}
		if got := math.Float64frombits(bits); got != want {
			return 0, fmt.Errorf("%w: state was saved with %s = %v, optimizer has %v", ErrState, names[i], got, want)
		}
	}
	return step, nil
}

// readParam reads the k-th saved param, matches it to params by name and
// size, and stores its moments; it returns the param's index.
func readParam(br *bufio.Reader, k uint64, index map[string]int, params []Param, m, v [][]float32) (int, error) {
	nameLen, err := getU64(br)
	if err != nil || nameLen > maxNameLen {
		return 0, fmt.Errorf("%w: saved param %d: bad name length", ErrState, k)
	}
	name := make([]byte, nameLen)
	if _, err := io.ReadFull(br, name); err != nil {
		return 0, fmt.Errorf("%w: saved param %d: name: %w", ErrState, k, err)
	}
	i, ok := index[string(name)]
	if !ok {
		return 0, fmt.Errorf("%w: saved param %q is not in the model (or appears twice)", ErrState, name)
	}
	size, err := getU64(br)
	if err != nil {
		return 0, fmt.Errorf("%w: param %q: size: %w", ErrState, name, err)
	}
	if size != uint64(len(params[i].Value)) {
		return 0, fmt.Errorf("%w: param %q: saved with %d values, model has %d", ErrState, name, size, len(params[i].Value))
	}
	m[i] = make([]float32, size)
	v[i] = make([]float32, size)
	if err := getFloats(br, m[i]); err != nil {
		return 0, fmt.Errorf("%w: param %q: first moment: %w", ErrState, name, err)
	}
	if err := getFloats(br, v[i]); err != nil {
		return 0, fmt.Errorf("%w: param %q: second moment: %w", ErrState, name, err)
	}
	return i, nil
}

// SaveCompressed writes Save's output zstd-compressed (the checkpoint's
// optimizer.bin.zst).
func (o *AdamW) SaveCompressed(w io.Writer) error {
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedDefault))
	if err != nil {
		return fmt.Errorf("optim: zstd: %w", err)
	}
	if err := o.Save(zw); err != nil {
		zw.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("optim: zstd: %w", err)
	}
	return nil
}

// LoadCompressed reads what SaveCompressed wrote; see Load.
func (o *AdamW) LoadCompressed(r io.Reader, params []Param) error {
	zr, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(1<<34))
	if err != nil {
		return fmt.Errorf("%w: zstd: %w", ErrState, err)
	}
	defer zr.Close()
	return o.Load(zr, params)
}

func putU64(w *bufio.Writer, x uint64) {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], x)
	w.Write(b[:])
}

func getU64(r *bufio.Reader) (uint64, error) {
	var b [8]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, noEOF(err)
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func putFloats(w *bufio.Writer, xs []float32) {
	var b [4]byte
	for _, x := range xs {
		binary.LittleEndian.PutUint32(b[:], math.Float32bits(x))
		w.Write(b[:])
	}
}

func getFloats(r *bufio.Reader, dst []float32) error {
	var b [4]byte
	for i := range dst {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return noEOF(err)
		}
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[:]))
	}
	return nil
}

// noEOF turns a clean EOF inside a record into ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}
