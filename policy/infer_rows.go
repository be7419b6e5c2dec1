package policy

// The decoder's per-row steps, each over the rows lo…hi of the current
// batch (see decoder): the same arithmetic whichever part runs them.

// embedRows writes the token (and learned position) embeddings of rows
// lo…hi into x and their first layer norm into h.
func (dc *decoder) embedRows(lo, hi int) {
	d := dc.d
	for i := lo; i < hi; i++ {
		rw := dc.rows[i]
		x := dc.x[i*d : (i+1)*d]
		copy(x, dc.wte[rw.tok*d:(rw.tok+1)*d])
		if dc.wpe != nil {
			for j, p := range dc.wpe[rw.pos*d : (rw.pos+1)*d] {
				x[j] += p
			}
		}
	}
	lw := &dc.layers[0]
	layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], lw.ln1g, lw.ln1b, hi-lo, d)
}

// storeRows finishes and stores the keys and values of rows lo…hi for
// layer l (see store).
func (dc *decoder) storeRows(lo, hi, l int) {
	d := dc.d
	for i := lo; i < hi; i++ {
		dc.store(dc.rows[i], dc.qkv[i*3*d:(i+1)*3*d], l)
	}
}

// attendRows writes the attention of rows lo…hi at layer l into att,
// storing their keys and values first unless stored; part names the
// scores scratch to use.
func (dc *decoder) attendRows(lo, hi, l, part int, stored bool) {
	d, s := dc.d, dc.scores[part]
	for i := lo; i < hi; i++ {
		qkv := dc.qkv[i*3*d : (i+1)*3*d]
		if !stored {
			dc.store(dc.rows[i], qkv, l)
		}
		dc.attendRow(dc.rows[i], qkv[:d], dc.att[i*d:(i+1)*d], l, s)
	}
}

// residAttnRows adds the attention projection (tmp) and its bias to the
// residual stream and writes the second layer norm into h.
func (dc *decoder) residAttnRows(lo, hi, l int) {
	d, lw := dc.d, &dc.layers[l]
	addBiasResidual(dc.x[lo*d:hi*d], dc.tmp[lo*d:hi*d], lw.bo, hi-lo, d)
	layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], lw.ln2g, lw.ln2b, hi-lo, d)
}

// geluRows applies the MLP bias and activation to rows of f.
func (dc *decoder) geluRows(lo, hi, l int) {
	n, lw := dc.cfg.DFF, &dc.layers[l]
	biasActRowsFast(dc.f[lo*n:hi*n], dc.f[lo*n:hi*n], lw.b1, hi-lo, n, dc.act)
}

// residMLPRows adds the MLP output (tmp) and its bias to the residual
// stream, then writes the next layer's first layer norm into h or, after
// the last layer, the final layer norm of the rows that want logits into
// hf.
func (dc *decoder) residMLPRows(lo, hi, l int) {
	d, lw := dc.d, &dc.layers[l]
	addBiasResidual(dc.x[lo*d:hi*d], dc.tmp[lo*d:hi*d], lw.b2, hi-lo, d)
	if l+1 < len(dc.layers) {
		nx := &dc.layers[l+1]
		layerNormRowsFast(dc.h[lo*d:hi*d], dc.x[lo*d:hi*d], nx.ln1g, nx.ln1b, hi-lo, d)
		return
	}
	for i := lo; i < hi; i++ {
		if k := dc.wantAt[i]; k >= 0 {
			layerNormRowsFast(dc.hf[k*d:(k+1)*d], dc.x[i*d:(i+1)*d], dc.lnfg, dc.lnfb, 1, d)
		}
	}
}

// headRows writes the logits of the rows among lo…hi that want them
// (their logits rows are consecutive).
func (dc *decoder) headRows(lo, hi int) {
	k0, k1 := -1, -1
	for i := lo; i < hi; i++ {
		if k := dc.wantAt[i]; k >= 0 {
			if k0 < 0 {
				k0 = k
			}
			k1 = k + 1
		}
	}
	if k0 < 0 {
		return
	}
	d, v := dc.d, dc.cfg.Vocab
	dc.w.head.mul(k1-k0, dc.hf[k0*d:k1*d], dc.logits[k0*v:k1*v])
}

// addBiasResidual adds t + b to y row-wise (rows×d), the bias added to the
// product first as linearAdd and the training graph do.
func addBiasResidual(y, t, b []float32, rows, d int) {
	b = b[:d]
	for r := 0; r < rows; r++ {
		yr, tr := y[r*d:(r+1)*d], t[r*d:(r+1)*d]
		for j := range b { // b's length bounds all three: no index checks
			yr[j] += tr[j] + b[j]
		}
	}
}
