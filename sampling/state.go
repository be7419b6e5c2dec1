package sampling

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// StateMetaKey is the schema-metadata key of the statistics table under
// which SaveState stores the sampler's scalar state as a JSON object.
const StateMetaKey = "rlpipe.sampler_state"

// stateFormat versions the JSON under StateMetaKey.
const stateFormat = 1

// scalarState is everything but the per-prompt table: identity (kind, seed,
// pool fingerprint) checked at load, and the counters that make the next
// draws equal those of an uninterrupted run.
type scalarState struct {
	Format   int    `json:"format"`
	Kind     string `json:"kind"`
	Seed     uint64 `json:"seed"`
	Prompts  int    `json:"prompts"`
	PoolHash uint64 `json:"pool_hash"`
	Epoch    uint64 `json:"epoch"`         // uniform cursor: epoch number
	Offset   int    `json:"epoch_offset"`  // uniform cursor: position in the epoch
	Calls    uint64 `json:"calls"`         // Next calls so far (keys the weighted draws)
	Stale    bool   `json:"stale_weights"` // statistics changed since the last weighting
	// Refresh is the progress of VAS's full refresh; absent in incremental
	// mode, so that its state files are unchanged by the field.
	Refresh *refreshState `json:"refresh,omitempty"`
}

// check compares a loaded state st with the sampler's own identity want.
func (st *scalarState) check(want scalarState, n int) error {
	switch {
	case st.Format != stateFormat:
		return fmt.Errorf("%w: format %d, want %d", ErrState, st.Format, stateFormat)
	case st.Kind != want.Kind:
		return fmt.Errorf("%w: written by a %q sampler, this is %q", ErrState, st.Kind, want.Kind)
	case st.Seed != want.Seed:
		return fmt.Errorf("%w: seed %d, this sampler has %d", ErrState, st.Seed, want.Seed)
	case st.Prompts != want.Prompts || st.PoolHash != want.PoolHash:
		return fmt.Errorf("%w: written for another prompt pool (%d prompts, hash %#x; this has %d, %#x)",
			ErrState, st.Prompts, st.PoolHash, want.Prompts, want.PoolHash)
	case st.Offset < 0 || st.Offset > n:
		return fmt.Errorf("%w: epoch offset %d outside [0, %d]", ErrState, st.Offset, n)
	}
	return nil
}

// writeState writes rows with st in the schema metadata as one Arrow IPC
// stream. The temporary record is released before returning.
func writeState(w io.Writer, mem memory.Allocator, st scalarState, rows []data.SamplerStats) error {
	js, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("sampling: save state: %w", err)
	}
	rec := data.NewSamplerStatsRecord(mem, rows, map[string]string{StateMetaKey: string(js)})
	defer rec.Release()
	iw := ipc.NewWriter(w, ipc.WithSchema(rec.Schema()), ipc.WithAllocator(mem))
	if err := iw.Write(rec); err != nil {
		iw.Close()
		return fmt.Errorf("sampling: save state: %w", err)
	}
	if err := iw.Close(); err != nil {
		return fmt.Errorf("sampling: save state: %w", err)
	}
	return nil
}

// maxStateBytes bounds a sampler state file (about 150 bytes per observed
// prompt, so 1 GiB is several million prompts).
const maxStateBytes = 1 << 30

// readState reads what writeState wrote. Arrow's IPC decoder can panic on
// corrupt flatbuffers; such panics become ErrState errors, since a
// checkpoint file is untrusted input.
func readState(r io.Reader, mem memory.Allocator) (st scalarState, rows []data.SamplerStats, err error) {
	defer func() {
		if p := recover(); p != nil {
			st, rows, err = scalarState{}, nil, fmt.Errorf("%w: corrupt Arrow stream: %v", ErrState, p)
		}
	}()
	raw, err := io.ReadAll(io.LimitReader(r, maxStateBytes+1))
	if err != nil {
		return st, nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	if len(raw) > maxStateBytes {
		return st, nil, fmt.Errorf("%w: larger than %d bytes", ErrState, maxStateBytes)
	}
	if err := guardStream(raw); err != nil {
		return st, nil, err
	}
	capped := &cappedAllocator{Allocator: mem, limit: len(raw) + 64}
	rd, err := ipc.NewReader(bytes.NewReader(raw), ipc.WithAllocator(capped))
	if err != nil {
		return st, nil, fmt.Errorf("%w: %v", ErrState, err)
	}
	defer rd.Release()
	if !rd.Next() {
		return st, nil, fmt.Errorf("%w: no statistics record (%v)", ErrState, rd.Err())
	}
	rec := rd.Record()
	js, ok := rec.Schema().Metadata().GetValue(StateMetaKey)
	if !ok {
		return st, nil, fmt.Errorf("%w: schema metadata lacks %q", ErrState, StateMetaKey)
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(js)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		return st, nil, fmt.Errorf("%w: metadata %q: %v", ErrState, StateMetaKey, err)
	}
	rows, err = data.SamplerStatsFromRecord(rec)
	if err != nil {
		return st, nil, fmt.Errorf("%w: %w", ErrState, err)
	}
	if rd.Next() {
		return st, nil, fmt.Errorf("%w: more than one statistics record", ErrState)
	}
	return st, rows, nil
}
