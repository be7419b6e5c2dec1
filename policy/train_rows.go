package policy

// Parallel forms of the row kernels the training graph runs (kernels.go
// keeps the serial ones that inference shares). Row-wise kernels split
// rows (parRows); the column reductions (bias and gain gradients) split
// columns, so each sum still runs over every row in ascending order in
// float64: the results are bit-identical to the serial kernels for any
// GOMAXPROCS.

// colGrain is the block of columns one goroutine reduces.
const colGrain = 32

// layerNormTrain is layerNormRows with rows in parallel.
func layerNormTrain[T float](y, x, g, b []T, rows, d int) {
	parRows(rows, rowGrain, func(lo, hi int) {
		layerNormRows(y[lo*d:hi*d], x[lo*d:hi*d], g, b, hi-lo, d)
	})
}

// layerNormGradXTrain is layerNormGradX with rows in parallel.
func layerNormGradXTrain[T float](dx, x, g, dy []T, rows, d int) {
	parRows(rows, rowGrain, func(lo, hi int) {
		layerNormGradX(dx[lo*d:hi*d], x[lo*d:hi*d], g, dy[lo*d:hi*d], hi-lo, d)
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

// layerNormGradGTrain is layerNormGradG: the row statistics in parallel
// over rows, then the sums in parallel over columns.
func layerNormGradGTrain[T float](dg, x, dy []T, rows, d int) {
	mu, rstd := make([]float64, rows), make([]float64, rows)
	parRows(rows, rowGrain, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			mu[r], rstd[r] = rowStats(x[r*d : (r+1)*d])
		}
	})
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
