package policy

import "github.com/rlpipe/rlpipe/policy/sgemm"

// store adds the QKV bias to one row, rotates its query and key under
// rotary positions (in place) and writes its key and value to its cache.
func (dc *decoder) store(rw decRow, qkv []float32, l int) {
	d, dh := dc.d, dc.dh
	for j, b := range dc.layers[l].bqkv {
		qkv[j] += b
	}
	q, k := qkv[:d], qkv[d:2*d]
	if dc.cos != nil {
		for h := 0; h < d; h += dh {
			ropeApply(q[h:h+dh], q[h:h+dh], dc.cos, dc.sin, rw.pos, false)
			ropeApply(k[h:h+dh], k[h:h+dh], dc.cos, dc.sin, rw.pos, false)
		}
	}
	c := rw.c
	slot := rw.pos - c.base
	copy(c.v[l][slot*d:(slot+1)*d], qkv[2*d:])
	kt := c.kt[l]
	for ch, x := range k {
		kt[ch*c.cap+slot] = x
	}
}

// attendRow writes the causal attention of one row (query q, rotated) over
// positions 0…pos of its sequence into out, head by head: scores by GemvT
// over the transposed keys of the shared prompt prefix, then of the
// sequence's own positions, a float64 softmax, and the output by GemvT
// over the values, prefix first, the own part accumulated onto it. The
// split into prefix and own part rounds exactly as one pass would (see
// GemvT), and every sequence has it, alone or with other samples.
func (dc *decoder) attendRow(rw decRow, q, out []float32, l int, s []float32) {
	d, dh := dc.d, dc.dh
	c, p := rw.c, rw.c.prefix
	n, base := rw.pos+1, c.base
	for h := 0; h < d; h += dh {
		qh, oh := q[h:h+dh], out[h:h+dh]
		if p != nil {
			sgemm.GemvT(base, dh, qh, p.kt[l][h*p.cap:], p.cap, s, false)
		}
		sgemm.GemvT(n-base, dh, qh, c.kt[l][h*c.cap:], c.cap, s[base:n], false)
		softmaxScaled(s[:n], dc.scale)
		if p != nil {
			sgemm.GemvT(dh, base, s, p.v[l][h:], d, oh, false)
		}
		sgemm.GemvT(dh, n-base, s[base:n], c.v[l][h:], d, oh, p != nil)
	}
}
