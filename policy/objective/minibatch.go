package objective

// MiniBatches splits rows 0..n−1 into consecutive mini-batches of size rows
// (the last one may be shorter). With shuffle, the rows are first permuted by
// a Fisher–Yates shuffle driven by NewStream(Key(seed, epoch, purpose)), so
// every inner epoch gets its own deterministic order, independent of workers.
// groupSize > 1 keeps consecutive groups of that many rows together (whole
// groups are shuffled and a mini-batch never splits a group; size is then
// rounded up to a multiple of groupSize). The returned slices share one
// backing array. It panics if size <= 0 or n < 0.
func MiniBatches(n, size, groupSize int, shuffle bool, seed uint64, epoch int) [][]int {
	if size <= 0 || n < 0 {
		panic("objective: MiniBatches with size <= 0 or n < 0")
	}
	g := max(groupSize, 1)
	units := (n + g - 1) / g
	order := make([]int, units)
	for i := range order {
		order[i] = i
	}
	if shuffle {
		s := NewStream(Key(seed, uint64(epoch), purposeShuffle))
		for i := units - 1; i > 0; i-- {
			j := s.Intn(i + 1)
			order[i], order[j] = order[j], order[i]
		}
	}
	rows := make([]int, 0, n)
	per := (size + g - 1) / g // units per mini-batch
	var out [][]int
	for k := 0; k < units; k += per {
		lo := len(rows)
		for _, u := range order[k:min(k+per, units)] {
			for r := u * g; r < min((u+1)*g, n); r++ {
				rows = append(rows, r)
			}
		}
		out = append(out, rows[lo:len(rows):len(rows)])
	}
	return out
}
