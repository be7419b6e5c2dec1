package sampling

import (
	"bytes"
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/rlpipe/rlpipe/data"
)

// Arrow's IPC decoder trusts the lengths in a stream's flatbuffers and
// allocates what they claim (a corrupt field count becomes a make of
// billions of fields, a fatal out-of-memory, not a panic). A state file is
// untrusted input, so before decoding, guardStream requires exactly the
// stream SaveState writes: two messages whose lengths fit in the input, the
// first byte-identical to the schema message of data.SamplerStatsSchema with
// the same metadata. The metadata is read with a bounds-checked flatbuffer
// walk of its own. The record batch message is then decoded by Arrow under
// cappedAllocator, which refuses any buffer larger than the input.

// span locates one IPC message: [start, metaEnd) prefix and metadata,
// [metaEnd, end) the body.
type span struct{ start, metaStart, metaEnd, end int }

func guardStream(raw []byte) error {
	spans, err := messageSpans(raw)
	if err != nil {
		return err
	}
	if len(spans) != 2 {
		return fmt.Errorf("%w: %d Arrow messages, want a schema and one record batch", ErrState, len(spans))
	}
	s := spans[0]
	meta, ok := schemaMetadata(raw[s.metaStart:s.metaEnd])
	if !ok {
		return fmt.Errorf("%w: unreadable schema message", ErrState)
	}
	want, err := schemaMessage(data.SamplerStatsSchema(meta))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrState, err)
	}
	if !bytes.Equal(raw[s.start:s.end], want) {
		return fmt.Errorf("%w: the schema is not the sampler statistics schema of this version", ErrState)
	}
	return nil
}

// schemaMessage returns the bytes Arrow's stream writer emits for schema's
// message.
func schemaMessage(schema *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema), ipc.WithAllocator(memory.NewGoAllocator()))
	if err := w.Close(); err != nil {
		return nil, err
	}
	spans, err := messageSpans(buf.Bytes())
	if err != nil || len(spans) != 1 {
		return nil, fmt.Errorf("sampling: unexpected schema-only stream (%d messages, %v)", len(spans), err)
	}
	return buf.Bytes()[spans[0].start:spans[0].end], nil
}

// messageSpans splits an IPC stream into messages, checking that every
// metadata and body length fits in b. It stops at the end-of-stream marker.
func messageSpans(b []byte) ([]span, error) {
	var spans []span
	for pos := 0; pos < len(b); {
		s := span{start: pos}
		n, ok := u32(b, pos)
		pos += 4
		if ok && n == 0xFFFFFFFF { // continuation marker, then the length
			n, ok = u32(b, pos)
			pos += 4
		}
		if !ok {
			return nil, fmt.Errorf("%w: truncated message prefix at byte %d", ErrState, s.start)
		}
		if n == 0 {
			return spans, nil
		}
		if n > len(b)-pos {
			return nil, fmt.Errorf("%w: message at byte %d claims %d metadata bytes, %d left", ErrState, s.start, n, len(b)-pos)
		}
		s.metaStart, s.metaEnd = pos, pos+n
		body, ok := messageBodyLength(b[s.metaStart:s.metaEnd])
		if !ok || body < 0 || body > int64(len(b)-s.metaEnd) {
			return nil, fmt.Errorf("%w: message at byte %d: bad body length %d", ErrState, s.start, body)
		}
		s.end = s.metaEnd + int(body)
		spans = append(spans, s)
		pos = s.end
	}
	return spans, nil
}

func u32(b []byte, at int) (int, bool) {
	if at < 0 || at > len(b)-4 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(b[at:])), true
}

// fbTable is a bounds-checked view of a flatbuffer table at pos in b.
type fbTable struct {
	b   []byte
	pos int
}

func fbRoot(b []byte) (fbTable, bool) {
	off, ok := u32(b, 0)
	return fbTable{b, off}, ok && off < len(b)
}

// field returns the absolute position of field i, 0 when absent.
func (t fbTable) field(i int) (int, bool) {
	soff, ok := u32(t.b, t.pos)
	if !ok {
		return 0, false
	}
	vt := t.pos - int(int32(uint32(soff)))
	if vt < 0 || vt > len(t.b)-4 {
		return 0, false
	}
	entry := 4 + 2*i
	if int(binary.LittleEndian.Uint16(t.b[vt:])) <= entry {
		return 0, true
	}
	if vt+entry+2 > len(t.b) {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint16(t.b[vt+entry:]))
	if off == 0 {
		return 0, true
	}
	return t.pos + off, t.pos+off < len(t.b)
}

// ref follows the uoffset stored at position p.
func (t fbTable) ref(p int) (int, bool) {
	off, ok := u32(t.b, p)
	return p + off, ok && p+off < len(t.b)
}

// vector returns the start and length of the vector in field i, checked to
// hold n elements of elem bytes.
func (t fbTable) vector(i, elem int) (start, n int, ok bool) {
	p, ok := t.field(i)
	if !ok || p == 0 {
		return 0, 0, ok
	}
	v, ok := t.ref(p)
	if !ok {
		return 0, 0, false
	}
	n, ok = u32(t.b, v)
	if !ok || n > (len(t.b)-v-4)/elem {
		return 0, 0, false
	}
	return v + 4, n, true
}

func (t fbTable) str(i int) (string, bool) {
	start, n, ok := t.vector(i, 1)
	return string(t.b[start : start+n]), ok
}

// messageBodyLength reads Message.bodyLength (field 3, long).
func messageBodyLength(m []byte) (int64, bool) {
	t, ok := fbRoot(m)
	if !ok {
		return 0, false
	}
	p, ok := t.field(3)
	if !ok || p == 0 {
		return 0, ok
	}
	if p > len(m)-8 {
		return 0, false
	}
	return int64(binary.LittleEndian.Uint64(m[p:])), true
}

// schemaMetadata reads Message.header (field 2) as a Schema and returns its
// custom_metadata (field 2: [KeyValue{key, value}]).
func schemaMetadata(m []byte) (map[string]string, bool) {
	msg, ok := fbRoot(m)
	if !ok {
		return nil, false
	}
	hp, ok := msg.field(2)
	if !ok || hp == 0 {
		return nil, false
	}
	hdr, ok := msg.ref(hp)
	if !ok {
		return nil, false
	}
	schema := fbTable{m, hdr}
	start, n, ok := schema.vector(2, 4)
	if !ok {
		return nil, false
	}
	meta := make(map[string]string, n)
	for j := 0; j < n; j++ {
		kvPos, ok := schema.ref(start + 4*j)
		if !ok {
			return nil, false
		}
		kv := fbTable{m, kvPos}
		k, ok1 := kv.str(0)
		v, ok2 := kv.str(1)
		if !ok1 || !ok2 {
			return nil, false
		}
		meta[k] = v
	}
	return meta, true
}

// cappedAllocator refuses, by panicking (readState recovers), any single
// allocation larger than the input could justify.
type cappedAllocator struct {
	memory.Allocator
	limit int
}

func (a *cappedAllocator) Allocate(size int) []byte {
	if size > a.limit {
		panic(fmt.Sprintf("sampling: state decoder asked for %d bytes from a %d-byte input", size, a.limit))
	}
	return a.Allocator.Allocate(size)
}

func (a *cappedAllocator) Reallocate(size int, b []byte) []byte {
	if size > a.limit {
		panic(fmt.Sprintf("sampling: state decoder asked for %d bytes from a %d-byte input", size, a.limit))
	}
	return a.Allocator.Reallocate(size, b)
}
