package safetensors

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxHeaderLen bounds the JSON header length accepted by Read (100 MB, the
// reference implementation's limit); a larger prefix is treated as hostile.
const MaxHeaderLen = 100_000_000

// metadataKey is the reserved header key holding the string metadata.
const metadataKey = "__metadata__"

// dtypeF32 is the only dtype the streaming Read and Write handle.
const dtypeF32 = "F32"

// ErrFormat is wrapped by every error about malformed input or a tensor
// that cannot be represented.
var ErrFormat = errors.New("safetensors: bad format")

// Tensor is one named float32 tensor in row-major order; len(Data) must
// equal the product of Shape (1 for a scalar with empty Shape).
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// headerEntry is a tensor's description in the JSON header.
type headerEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// numel returns the product of shape, or an error for a negative dimension
// or a product that overflows.
func numel(shape []int) (int, error) {
	n := 1
	for i, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("dimension %d is negative (%d)", i, d)
		}
		if d != 0 && n > math.MaxInt/4/d {
			return 0, fmt.Errorf("shape %v overflows", shape)
		}
		n *= d
	}
	return n, nil
}

// Write encodes tensors, in the given order, and metadata (omitted from the
// header when empty) to w. It checks that names are non-empty and unique,
// not "__metadata__", and that every Data length matches its Shape.
// Cost: one header allocation; data is streamed in 64 KiB chunks.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	return writeAs(w, tensors, F32, metadata)
}

// writeAs is Write storing every tensor as dtype d (F32, BF16 or F16),
// rounding to nearest even.
func writeAs(w io.Writer, tensors []Tensor, d Dtype, metadata map[string]string) error {
	header, err := encodeHeader(tensors, d, metadata)
	if err != nil {
		return err
	}
	var prefix [8]byte
	binary.LittleEndian.PutUint64(prefix[:], uint64(len(header)))
	if _, err := w.Write(prefix[:]); err != nil {
		return fmt.Errorf("safetensors: write header length: %w", err)
	}
	if _, err := w.Write(header); err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	buf := make([]byte, 0, 64<<10)
	for _, t := range tensors {
		for _, v := range t.Data {
			if len(buf)+4 > cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return fmt.Errorf("safetensors: write tensor %q: %w", t.Name, err)
				}
				buf = buf[:0]
			}
			switch d {
			case BF16:
				buf = binary.LittleEndian.AppendUint16(buf, Float32ToBF16(v))
			case F16:
				buf = binary.LittleEndian.AppendUint16(buf, Float32ToF16(v))
			default:
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("safetensors: write data: %w", err)
	}
	return nil
}

// encodeHeader builds the space-padded JSON header: "__metadata__" first
// (when non-empty, keys sorted by encoding/json), then the tensors in order.
func encodeHeader(tensors []Tensor, d Dtype, metadata map[string]string) ([]byte, error) {
	bits, ok := d.Bits()
	if !ok {
		return nil, fmt.Errorf("%w: unknown dtype %q", ErrFormat, string(d))
	}
	var b bytes.Buffer
	b.WriteByte('{')
	if len(metadata) > 0 {
		m, err := marshal(metadata)
		if err != nil {
			return nil, fmt.Errorf("safetensors: metadata: %w", err)
		}
		b.WriteString(`"` + metadataKey + `":`)
		b.Write(m)
	}
	seen := make(map[string]struct{}, len(tensors))
	var off int64
	for i, t := range tensors {
		if err := checkTensor(t, seen); err != nil {
			return nil, fmt.Errorf("%w: tensor %d %q: %w", ErrFormat, i, t.Name, err)
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		end := off + bits/8*int64(len(t.Data))
		e, err := marshal(headerEntry{Dtype: string(d), Shape: shape, DataOffsets: [2]int64{off, end}})
		if err != nil {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		name, _ := marshal(t.Name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(e)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// marshal encodes v as compact JSON without HTML escaping, so that names
// and metadata such as "<pad>" are stored byte for byte as the reference
// writer (serde_json) stores them.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func checkTensor(t Tensor, seen map[string]struct{}) error {
	if t.Name == "" || t.Name == metadataKey {
		return errors.New("invalid name")
	}
	if _, dup := seen[t.Name]; dup {
		return errors.New("duplicate name")
	}
	seen[t.Name] = struct{}{}
	n, err := numel(t.Shape)
	if err != nil {
		return err
	}
	if n != len(t.Data) {
		return fmt.Errorf("shape %v holds %d values, data has %d", t.Shape, n, len(t.Data))
	}
	return nil
}

// Read decodes a safetensors stream. Tensors are returned in data order
// (the order they were written); metadata is nil when the header has none.
// It validates the header length (at most MaxHeaderLen and within the
// stream), that names are unique, dtypes are F32, offsets are contiguous
// from 0 and match each shape, and that the data ends exactly where the
// last tensor does. Memory use is bounded by the bytes actually present in
// r (about twice them), never by lengths claimed in the header.
func Read(r io.Reader) ([]Tensor, map[string]string, error) {
	var prefix [8]byte
	if _, err := io.ReadFull(r, prefix[:]); err != nil {
		return nil, nil, fmt.Errorf("%w: header length: %w", ErrFormat, err)
	}
	n := binary.LittleEndian.Uint64(prefix[:])
	if n < 2 || n > MaxHeaderLen {
		return nil, nil, fmt.Errorf("%w: header length %d outside [2, %d]", ErrFormat, n, MaxHeaderLen)
	}
	header, err := io.ReadAll(io.LimitReader(r, int64(n)))
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: read header: %w", err)
	}
	if uint64(len(header)) != n {
		return nil, nil, fmt.Errorf("%w: header truncated: %d of %d bytes", ErrFormat, len(header), n)
	}
	if !utf8.Valid(header) {
		return nil, nil, fmt.Errorf("%w: header is not valid UTF-8", ErrFormat)
	}
	names, entries, meta, err := parseHeader(header, requireF32)
	if err != nil {
		return nil, nil, err
	}
	total, err := checkLayout(names, entries)
	if err != nil {
		return nil, nil, err
	}
	tensors := make([]Tensor, len(names))
	chunk := make([]byte, 64<<10)
	for i, name := range names {
		e := entries[i]
		vals, err := readFloats(r, (e.DataOffsets[1]-e.DataOffsets[0])/4, chunk)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: tensor %q: data truncated: %w", ErrFormat, name, err)
		}
		tensors[i] = Tensor{Name: name, Shape: e.Shape, Data: vals}
	}
	if n, _ := io.ReadFull(r, chunk[:1]); n != 0 {
		return nil, nil, fmt.Errorf("%w: data continues past the last tensor's end %d", ErrFormat, total)
	}
	return tensors, meta, nil
}

// readFloats decodes n little-endian float32 values from r through chunk.
// The result grows with the bytes actually read, so a header claiming a
// huge tensor cannot make it allocate more than about twice the input.
func readFloats(r io.Reader, n int64, chunk []byte) ([]float32, error) {
	vals := make([]float32, 0, min(n, int64(len(chunk))))
	for int64(len(vals)) < n {
		want := min(int64(len(chunk)), 4*(n-int64(len(vals))))
		got, err := io.ReadFull(r, chunk[:want])
		for j := 0; j+4 <= got; j += 4 {
			vals = append(vals, math.Float32frombits(binary.LittleEndian.Uint32(chunk[j:])))
		}
		if err != nil {
			return nil, fmt.Errorf("%d of %d values: %w", len(vals), n, err)
		}
	}
	return vals, nil
}

// requireF32 is Read's dtype check: the streaming API is float32 only.
func requireF32(d string) error {
	if d != dtypeF32 {
		return fmt.Errorf("dtype %s unsupported (only %s)", strconv.Quote(d), dtypeF32)
	}
	return nil
}

// knownDtype is Open's dtype check: any dtype of the format is accepted
// (ReadFloat32 refuses the non-float ones when asked for their values).
func knownDtype(d string) error {
	if _, ok := Dtype(d).Bits(); !ok {
		return fmt.Errorf("unknown dtype %s", strconv.Quote(d))
	}
	return nil
}

// parseHeader decodes the header object key by key, so that duplicate
// names (which a map would silently merge) are caught; checkDtype vets
// each tensor's dtype.
func parseHeader(header []byte, checkDtype func(string) error) ([]string, []headerEntry, map[string]string, error) {
	dec := json.NewDecoder(bytes.NewReader(header))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, nil, nil, fmt.Errorf("%w: header is not a JSON object", ErrFormat)
	}
	var (
		names   []string
		entries []headerEntry
		meta    map[string]string
		seen    = map[string]struct{}{}
	)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
		}
		name := tok.(string) // object keys are always strings
		if _, dup := seen[name]; dup {
			return nil, nil, nil, fmt.Errorf("%w: header key %q appears twice", ErrFormat, name)
		}
		seen[name] = struct{}{}
		if name == "" {
			return nil, nil, nil, fmt.Errorf("%w: header has a tensor with an empty name", ErrFormat)
		}
		if name == metadataKey {
			if err := dec.Decode(&meta); err != nil {
				return nil, nil, nil, fmt.Errorf("%w: %q must map strings to strings: %w", ErrFormat, metadataKey, err)
			}
			continue
		}
		e, err := decodeEntry(dec, checkDtype)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("%w: tensor %q: %w", ErrFormat, name, err)
		}
		names = append(names, name)
		entries = append(entries, e)
	}
	if _, err := dec.Token(); err != nil {
		return nil, nil, nil, fmt.Errorf("%w: header: %w", ErrFormat, err)
	}
	// Only padding may follow the object: we write spaces, the reference
	// reader accepts any JSON whitespace.
	if len(bytes.TrimRight(header[dec.InputOffset():], " \t\r\n")) != 0 {
		return nil, nil, nil, fmt.Errorf("%w: header has trailing bytes after the JSON object", ErrFormat)
	}
	return names, entries, meta, nil
}

// decodeEntry reads one tensor description, refusing unknown fields and
// dtypes checkDtype refuses.
func decodeEntry(dec *json.Decoder, checkDtype func(string) error) (headerEntry, error) {
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return headerEntry{}, err
	}
	ed := json.NewDecoder(bytes.NewReader(raw))
	ed.DisallowUnknownFields()
	var e headerEntry
	if err := ed.Decode(&e); err != nil {
		return headerEntry{}, err
	}
	if err := checkDtype(e.Dtype); err != nil {
		return headerEntry{}, err
	}
	if e.Shape == nil {
		e.Shape = []int{}
	}
	return e, nil
}

// checkLayout reorders names and entries in place into data order (by
// begin, then end offset), requires them to tile [0, total) exactly, and
// returns total.
func checkLayout(names []string, entries []headerEntry) (int64, error) {
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	// Sort by (begin, end), as the reference reader does, so an empty
	// tensor sharing its begin with the next one comes first.
	slices.SortStableFunc(order, func(a, b int) int {
		ea, eb := entries[a].DataOffsets, entries[b].DataOffsets
		return cmp.Or(cmp.Compare(ea[0], eb[0]), cmp.Compare(ea[1], eb[1]))
	})
	var off int64
	for _, i := range order {
		e := entries[i]
		size, err := byteSize(Dtype(e.Dtype), e.Shape)
		if err != nil {
			return 0, fmt.Errorf("%w: tensor %q: %w", ErrFormat, names[i], err)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b != off {
			return 0, fmt.Errorf("%w: tensor %q: data starts at %d, want %d (data_offsets must tile the data contiguously, without gaps or overlaps)", ErrFormat, names[i], b, off)
		}
		if end < b || end-b != size {
			return 0, fmt.Errorf("%w: tensor %q: offsets [%d, %d] do not hold shape %v of %s (data_offsets must span %d bytes)", ErrFormat, names[i], b, end, e.Shape, e.Dtype, size)
		}
		off = end
	}
	// Put names and entries in data order for the caller.
	sortedNames := make([]string, len(order))
	sortedEntries := make([]headerEntry, len(order))
	for k, i := range order {
		sortedNames[k], sortedEntries[k] = names[i], entries[i]
	}
	copy(names, sortedNames)
	copy(entries, sortedEntries)
	return off, nil
}
