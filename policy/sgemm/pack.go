package sgemm

// packA copies alpha·op(A)[i0:i0+mb, p0:p0+kb] into dst as ceil(mb/mr)
// slivers of kb×mr ([p][r]), zero-padding the last sliver's missing rows
// so the kernel never reads past A. Folding alpha in here costs nothing
// extra and leaves the kernel a plain product. With partialOnly (A used
// in place) only a partial last sliver is copied.
func packA(dst []float32, p *problem, i0, mb, p0, kb, mr int, partialOnly bool) {
	alpha := p.alpha
	for q := 0; q*mr < mb; q++ {
		r0 := i0 + q*mr
		rows := min(mr, i0+mb-r0)
		if partialOnly && rows == mr {
			continue
		}
		d := dst[q*kb*mr : (q+1)*kb*mr]
		if p.aT {
			// op(A)[i][j] = a[j*lda+i]: each k step is a contiguous run.
			for k := 0; k < kb; k++ {
				src := p.a[(p0+k)*p.lda+r0 : (p0+k)*p.lda+r0+rows]
				dk := d[k*mr : k*mr+mr]
				if alpha == 1 {
					copy(dk, src)
				} else {
					for r, v := range src {
						dk[r] = alpha * v
					}
				}
				clear(dk[rows:])
			}
			continue
		}
		for r := 0; r < rows; r++ {
			src := p.a[(r0+r)*p.lda+p0 : (r0+r)*p.lda+p0+kb]
			if alpha == 1 {
				for k, v := range src {
					d[k*mr+r] = v
				}
			} else {
				for k, v := range src {
					d[k*mr+r] = alpha * v
				}
			}
		}
		for r := rows; r < mr; r++ {
			for k := 0; k < kb; k++ {
				d[k*mr+r] = 0
			}
		}
	}
}

// packB copies op(B)[p0:p0+kb, j0:j0+nb] into dst as ceil(nb/nr) slivers
// of kb×nr ([p][c]), zero-padding the last sliver's missing columns.
func packB(dst []float32, p *problem, p0, kb, j0, nb, nr int) {
	for q := 0; q*nr < nb; q++ {
		d := dst[q*kb*nr : (q+1)*kb*nr]
		c0 := j0 + q*nr
		cols := min(nr, j0+nb-c0)
		if !p.bT {
			for k := 0; k < kb; k++ {
				dk := d[k*nr : k*nr+nr]
				copy(dk, p.b[(p0+k)*p.ldb+c0:(p0+k)*p.ldb+c0+cols])
				clear(dk[cols:])
			}
			continue
		}
		// op(B)[k][j] = b[j*ldb+k]: a transpose. Four rows of b at a time
		// keep the stores to d in runs and the bounds checks out of the loop.
		row := func(c int) []float32 { return p.b[(c0+c)*p.ldb+p0 : (c0+c)*p.ldb+p0+kb] }
		c := 0
		for ; c+4 <= cols; c += 4 {
			r0 := row(c)
			r1, r2, r3 := row(c + 1)[:len(r0)], row(c + 2)[:len(r0)], row(c + 3)[:len(r0)]
			for k, v := range r0 {
				dk := d[k*nr+c : k*nr+c+4 : k*nr+c+4]
				dk[0], dk[1], dk[2], dk[3] = v, r1[k], r2[k], r3[k]
			}
		}
		for ; c < cols; c++ {
			for k, v := range row(c) {
				d[k*nr+c] = v
			}
		}
		if cols < nr {
			for k := 0; k < kb; k++ {
				clear(d[k*nr+cols : k*nr+nr])
			}
		}
	}
}

// packARows copies alpha·A[i0:i0+mb, p0:p0+kb] of a row-major A into dst
// as ceil(mb/mr) slivers of mr rows × kb ([r][p], row stride kb) for the
// rows kernel, zero-padding the last sliver's missing rows. With
// partialOnly (A used in place) only a partial last sliver is copied.
func packARows(dst []float32, p *problem, i0, mb, p0, kb, mr int, partialOnly bool) {
	alpha := p.alpha
	for q := 0; q*mr < mb; q++ {
		r0 := i0 + q*mr
		rows := min(mr, i0+mb-r0)
		if partialOnly && rows == mr {
			continue
		}
		d := dst[q*kb*mr : (q+1)*kb*mr]
		for r := 0; r < rows; r++ {
			src := p.a[(r0+r)*p.lda+p0 : (r0+r)*p.lda+p0+kb]
			dr := d[r*kb : r*kb+kb]
			if alpha == 1 {
				copy(dr, src)
				continue
			}
			for k, v := range src {
				dr[k] = alpha * v
			}
		}
		clear(d[rows*kb:])
	}
}
