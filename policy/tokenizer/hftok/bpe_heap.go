package hftok

import "container/heap"

// candidate is a queued merge of the symbol at pos with its successor.
type candidate struct {
	pos  int32
	rank int32
	id   int32
}

// candidates is a min-heap on (rank, pos): the order in which the Rust
// library's Word::merge_all applies merges.
type candidates []candidate

func (h candidates) Len() int { return len(h) }
func (h candidates) Less(i, j int) bool {
	if h[i].rank != h[j].rank {
		return h[i].rank < h[j].rank
	}
	return h[i].pos < h[j].pos
}
func (h candidates) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *candidates) Push(x any)   { *h = append(*h, x.(candidate)) }
func (h *candidates) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// mergeHeap is mergeLinear for long words (a SentencePiece-style model
// without pre-tokenizer sees whole sentences as one word): symbols form a
// linked list and stale queue entries are skipped when popped.
func (m *bpe) mergeHeap(syms []int32) []int32 {
	n := len(syms)
	prev := make([]int32, n)
	next := make([]int32, n)
	alive := make([]bool, n)
	h := make(candidates, 0, n)
	for i := range syms {
		prev[i], next[i], alive[i] = int32(i-1), int32(i+1), true
		if i+1 < n {
			if mg := m.rank(syms[i], syms[i+1]); mg.rank != noRank {
				h = append(h, candidate{int32(i), mg.rank, mg.id})
			}
		}
	}
	next[n-1] = -1
	heap.Init(&h)
	for h.Len() > 0 {
		top := heap.Pop(&h).(candidate)
		p := top.pos
		nx := next[p]
		if !alive[p] || nx < 0 {
			continue
		}
		if mg := m.rank(syms[p], syms[nx]); mg.rank == noRank || mg.id != top.id {
			continue // stale: one side merged since this entry was queued
		}
		syms[p] = top.id
		alive[nx] = false
		next[p] = next[nx]
		if next[p] >= 0 {
			prev[next[p]] = p
		}
		if q := prev[p]; q >= 0 {
			if mg := m.rank(syms[q], syms[p]); mg.rank != noRank {
				heap.Push(&h, candidate{q, mg.rank, mg.id})
			}
		}
		if r := next[p]; r >= 0 {
			if mg := m.rank(syms[p], syms[r]); mg.rank != noRank {
				heap.Push(&h, candidate{p, mg.rank, mg.id})
			}
		}
	}
	out := syms[:0]
	for i := 0; i >= 0 && i < n; i = int(next[i]) {
		out = append(out, syms[i])
	}
	return out
}
