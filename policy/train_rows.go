package policy

// Parallel forms of the row kernels the training graph runs (kernels.go
// keeps the serial ones that inference shares). Row-wise kernels split
// rows (parRows); the column reductions (bias and gain gradients) split
// columns, so each sum still runs over every row in ascending order in
// float64: the results are bit-identical to the serial kernels for any
// GOMAXPROCS.

// colGrain is the block of columns one goroutine reduces.
const colGrain = 32

// lnStats are the per-row mean and 1/sqrt(var+eps) of a layer norm's
// input (see rowStats).
type lnStats struct{ mu, rstd []float64 }

// lnStash keeps one layer norm's row statistics from the forward pass of
// the current run, with the input they describe, for its gradients: the
// very values rowStats gives, so results are unchanged.
type lnStash struct {
	st lnStats
	x  any
}

// keepFor returns statistics buffers for rows bound to x (zero lnStats
// without a stash).
func (s *lnStash) keepFor(rows int, x any) lnStats {
	if s == nil {
		return lnStats{}
	}
	if len(s.st.mu) != rows {
		s.st = lnStats{make([]float64, rows), make([]float64, rows)}
	}
	s.x = x
	return s.st
}

// keptFor returns the statistics kept for x (zero lnStats if none).
func (s *lnStash) keptFor(rows int, x any) lnStats {
	if s == nil || len(s.st.mu) != rows || !sameSlice(s.x, x) {
		return lnStats{}
	}
	return s.st
}

// sameSlice reports whether a and b are the same non-empty float slice.
func sameSlice(a, b any) bool {
	switch a := a.(type) {
	case []float32:
		b, ok := b.([]float32)
		return ok && len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
	case []float64:
		b, ok := b.([]float64)
		return ok && len(a) == len(b) && len(a) > 0 && &a[0] == &b[0]
	}
	return false
}

// layerNormTrain is layerNormRows with rows in parallel, keeping the row
// statistics in keep when it has buffers.
func layerNormTrain[T float](y, x, g, b []T, rows, d int, keep lnStats) {
	parRows(rows, rowGrain, func(lo, hi int) {
		if keep.mu == nil {
			layerNormRows(y[lo*d:hi*d], x[lo*d:hi*d], g, b, hi-lo, d)
			return
		}
		for r := lo; r < hi; r++ {
			xr, yr := x[r*d:(r+1)*d], y[r*d:(r+1)*d]
			mu, rstd := rowStats(xr)
			keep.mu[r], keep.rstd[r] = mu, rstd
			for i, v := range xr { // layerNormRows' arithmetic
				yr[i] = T((float64(v)-mu)*rstd)*g[i] + b[i]
			}
		}
	})
}

// layerNormGradXTrain is layerNormGradX with rows in parallel, reading the
// row statistics from kept when it has them.
func layerNormGradXTrain[T float](dx, x, g, dy []T, rows, d int, kept lnStats) {
	parRows(rows, rowGrain, func(lo, hi int) {
		if kept.mu == nil {
			layerNormGradX(dx[lo*d:hi*d], x[lo*d:hi*d], g, dy[lo*d:hi*d], hi-lo, d)
			return
		}
		for r := lo; r < hi; r++ {
			layerNormGradRow(dx[r*d:(r+1)*d], x[r*d:(r+1)*d], g, dy[r*d:(r+1)*d], kept.mu[r], kept.rstd[r])
		}
	})
}

// sumRowsTrain is sumRows with columns in parallel.
func sumRowsTrain[T float](dst, src []T, rows, d int) {
	parRows(d, colGrain, func(c0, c1 int) {
		acc := make([]float64, c1-c0)
		if s32, ok := any(src).([]float32); !ok || !sumColsVec(acc, s32, rows, d, c0) {
			for r := 0; r < rows; r++ {
				for j, v := range src[r*d+c0 : r*d+c1] {
					acc[j] += float64(v)
				}
			}
		}
		for j, a := range acc {
			dst[c0+j] = T(a)
		}
	})
}

// layerNormGradGTrain is layerNormGradG: the row statistics (from kept,
// or recomputed in parallel over rows), then the sums in parallel over
// columns.
func layerNormGradGTrain[T float](dg, x, dy []T, rows, d int, kept lnStats) {
	mu, rstd := kept.mu, kept.rstd
	if mu == nil {
		mu, rstd = make([]float64, rows), make([]float64, rows)
		parRows(rows, rowGrain, func(lo, hi int) {
			for r := lo; r < hi; r++ {
				mu[r], rstd[r] = rowStats(x[r*d : (r+1)*d])
			}
		})
	}
	parRows(d, colGrain, func(c0, c1 int) {
		acc := make([]float64, c1-c0)
		for r := 0; r < rows; r++ {
			xr, dyr := x[r*d+c0:r*d+c1], dy[r*d+c0:r*d+c1]
			for i, v := range xr {
				acc[i] += float64(dyr[i]) * (float64(v) - mu[r]) * rstd[r]
			}
		}
		for i, a := range acc {
			dg[c0+i] = T(a)
		}
	})
}

// gradChunk is the block of gradient elements one goroutine adds.
const gradChunk = 1 << 15

// addGrads adds src[i] into dst[i] element-wise for every tensor, in
// fixed blocks spread over the cores (each element is one add, so the
// split cannot change a result).
func addGrads(dst, src [][]float32) {
	type block struct{ t, lo, hi int }
	var blocks []block
	for i, d := range dst {
		for lo := 0; lo < len(d); lo += gradChunk {
			blocks = append(blocks, block{i, lo, min(lo+gradChunk, len(d))})
		}
	}
	parFor(len(blocks), func() func(int) {
		return func(k int) {
			b := blocks[k]
			d, s := dst[b.t][b.lo:b.hi], src[b.t][b.lo:b.hi]
			for j, v := range s {
				d[j] += v
			}
		}
	})
}
