package safetensors

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sync"
)

// readChunk is the size of the byte buffer tensors are read through; it
// bounds ReadFloat32's memory beyond dst and amortises the read calls.
const readChunk = 1 << 20

var chunkPool = sync.Pool{New: func() any { b := make([]byte, readChunk); return &b }}

// ReadFloat32 reads the named tensor, converting F32, F16, BF16 and F64
// values to float32 (exactly, except F64, which rounds to nearest even),
// in row-major order. dst is reused when its capacity suffices, otherwise
// a new slice is allocated; the result has exactly one value per element.
// Errors name the tensor and its file: an unknown name, a non-float dtype,
// or a read failure (such as a file truncated after Open).
func (c *Checkpoint) ReadFloat32(name string, dst []float32) ([]float32, error) {
	loc, ok := c.tensors[name]
	if !ok {
		return nil, fmt.Errorf("safetensors: no tensor %q in the checkpoint", name)
	}
	d := loc.info.Dtype
	if !d.IsFloat() {
		return nil, fmt.Errorf("safetensors: %s: tensor %q has dtype %s, which ReadFloat32 does not convert (F32, F16, BF16, F64 only)", loc.file.path, name, d)
	}
	bits, _ := d.Bits()
	width := bits / 8
	n := int((loc.end - loc.begin) / width)
	if cap(dst) >= n {
		dst = dst[:n]
	} else {
		dst = make([]float32, n)
	}
	bp := chunkPool.Get().(*[]byte)
	defer chunkPool.Put(bp)
	buf := *bp
	perChunk := int64(len(buf)) / width
	for i := int64(0); i < int64(n); i += perChunk {
		cnt := min(perChunk, int64(n)-i)
		b := buf[:cnt*width]
		got, err := loc.file.r.ReadAt(b, loc.begin+i*width)
		if got < len(b) {
			if err == nil || err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("safetensors: %s: tensor %q: read %d bytes at offset %d: %w", loc.file.path, name, len(b), loc.begin+i*width, err)
		}
		decode(d, dst[i:i+cnt], b)
	}
	return dst, nil
}

// decode converts the little-endian values in b, of dtype d, into out
// (len(out) values).
func decode(d Dtype, out []float32, b []byte) {
	switch d {
	case F32:
		for j := range out {
			out[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
	case BF16:
		b = b[:2*len(out)] // lets the compiler drop the bounds checks
		for j := range out {
			out[j] = math.Float32frombits(uint32(b[2*j])<<16 | uint32(b[2*j+1])<<24)
		}
	case F16:
		b = b[:2*len(out)]
		for j := range out {
			out[j] = F16ToFloat32(uint16(b[2*j]) | uint16(b[2*j+1])<<8)
		}
	case F64:
		for j := range out {
			out[j] = float32(math.Float64frombits(binary.LittleEndian.Uint64(b[8*j:])))
		}
	}
}
