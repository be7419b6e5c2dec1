package learn

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	"github.com/rlpipe/rlpipe/policy/objective"
)

// bvpoStateMagic starts BVPO's state and names its format version.
const bvpoStateMagic = "rlpipe bvpo alpha state v1\n"

// State returns the auto-α estimator's state; nil with a fixed α, which
// carries nothing from step to step.
func (b *bvpo) State() State {
	if b.est == nil {
		return nil
	}
	return bvpoState{b}
}

// bvpoState saves and loads a bvpo learner's auto-α estimator.
type bvpoState struct{ b *bvpo }

// Save writes the auto-α estimator's state: the magic, then little-endian
// uint64s (the bits of α and W₂, the update count, the vector length n)
// and the 2n float64 bits of the running means. Raw bits keep the floats
// exact, NaN included, and cost 8 bytes a parameter instead of JSON's ~20.
func (s bvpoState) Save(w io.Writer) error {
	st := s.b.est.State()
	bw := bufio.NewWriter(w)
	bw.WriteString(bvpoStateMagic)
	head := []uint64{math.Float64bits(st.Alpha), math.Float64bits(st.W2), uint64(st.Steps), uint64(len(st.MeanTrace))}
	for _, v := range []any{head, st.MeanTrace, st.MeanEmpty} {
		if err := binary.Write(bw, binary.LittleEndian, v); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// Load reads what Save wrote. The running means must be absent (no
// estimate yet) or as long as the policy's parameters, which also bounds
// what a damaged length field can make it allocate.
func (s bvpoState) Load(r io.Reader) error {
	magic := make([]byte, len(bvpoStateMagic))
	if _, err := io.ReadFull(r, magic); err != nil || string(magic) != bvpoStateMagic {
		return fmt.Errorf("not a BVPO alpha state (%v)", err)
	}
	var head [4]uint64
	if err := binary.Read(r, binary.LittleEndian, &head); err != nil {
		return fmt.Errorf("bvpo alpha state header: %w", err)
	}
	n := 0
	for _, p := range s.b.pol.Params() {
		n += len(p.Grad)
	}
	if head[3] != 0 && head[3] != uint64(n) {
		return fmt.Errorf("bvpo alpha state has %d-long gradient means, the policy %d parameters", head[3], n)
	}
	st := objective.AlphaState{Alpha: math.Float64frombits(head[0]), W2: math.Float64frombits(head[1]), Steps: int(head[2])}
	if head[3] > 0 {
		st.MeanTrace, st.MeanEmpty = make([]float64, n), make([]float64, n)
		if err := binary.Read(r, binary.LittleEndian, st.MeanTrace); err != nil {
			return fmt.Errorf("bvpo alpha state means: %w", err)
		}
		if err := binary.Read(r, binary.LittleEndian, st.MeanEmpty); err != nil {
			return fmt.Errorf("bvpo alpha state means: %w", err)
		}
	}
	return s.b.est.SetState(st)
}
