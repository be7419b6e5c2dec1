package hftok

import (
	"fmt"
	"hash/maphash"
	"sync"
	"unicode/utf8"
)

// merge is the result of merging an adjacent pair of ids: its priority
// (the line number in merges, lower first) and the merged token's id.
type merge struct {
	rank int32
	id   int32
}

// bpe is the model: vocabulary, merge table and the options of Rust's BPE.
type bpe struct {
	vocab        map[string]int32
	merges       map[uint64]merge
	unk          int32 // -1 when unk_token is null
	fuseUnk      bool
	byteFallback bool
	ignoreMerges bool
	// byteLevel words are raw bytes; each byte stands for the vocabulary
	// character byteRune[b] and starts as byteInit[b].
	byteLevel bool
	byteInit  [256][]int32
	// rawVocab is vocab re-keyed by raw bytes (byte-level, ignore_merges).
	rawVocab map[string]int32
	// fallback[b] is the id of "<0xNN>" or -1.
	fallback [256]int32
	cache    wordCache
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

// maxCachedWord is the longest word cached, as in the Rust library, so a
// cache of bounded entries is also bounded in bytes.
const maxCachedWord = 256

// encodeWord appends the ids of one pre-token.
func (m *bpe) encodeWord(dst []int32, word string) []int32 {
	if m.ignoreMerges {
		v := m.vocab
		if m.byteLevel {
			v = m.rawVocab
		}
		if id, ok := v[word]; ok {
			return append(dst, id)
		}
	}
	if len(word) <= maxCachedWord {
		if ids, ok := m.cache.get(word); ok {
			return append(dst, ids...)
		}
	}
	syms := m.initial(make([]int32, 0, len(word)), word)
	if len(syms) > heapThreshold {
		syms = m.mergeHeap(syms)
	} else {
		syms = m.mergeLinear(syms)
	}
	if len(word) <= maxCachedWord {
		m.cache.put(word, syms)
	}
	return append(dst, syms...)
}

// initial splits word into its characters' ids, applying byte_fallback and
// unk_token (fused or not) exactly as the Rust library's merge_word does,
// including its order quirk: a pending unk is only flushed by a character
// found in the vocabulary, not by byte-fallback tokens.
func (m *bpe) initial(dst []int32, word string) []int32 {
	pendingUnk := false
	for i := 0; i < len(word); {
		var ids []int32
		var one [1]int32
		var w int
		if m.byteLevel {
			ids, w = m.byteInit[word[i]], 1
		} else {
			_, w = utf8.DecodeRuneInString(word[i:])
			if id, ok := m.vocab[word[i:i+w]]; ok {
				one[0] = id
				ids = one[:]
			}
		}
		ch := word[i : i+w]
		i += w
		if ids != nil {
			if pendingUnk {
				dst = append(dst, m.unk)
				pendingUnk = false
			}
			dst = append(dst, ids...)
			continue
		}
		if m.byteFallback && m.allFallback(ch) {
			for j := 0; j < len(ch); j++ {
				dst = append(dst, m.fallback[ch[j]])
			}
			continue
		}
		if m.unk >= 0 {
			if pendingUnk && !m.fuseUnk {
				dst = append(dst, m.unk)
			}
			pendingUnk = true
		}
		// Without unk_token the character is dropped, as in Rust.
	}
	if pendingUnk {
		dst = append(dst, m.unk)
	}
	return dst
}

// allFallback reports whether every byte of the character ch (its UTF-8
// form in the model's alphabet) has a "<0xNN>" token.
func (m *bpe) allFallback(ch string) bool {
	if m.byteLevel {
		ch = string(byteRune[ch[0]])
	}
	for j := 0; j < len(ch); j++ {
		if m.fallback[ch[j]] < 0 {
			return false
		}
	}
	return true
}

// noRank marks a pair that has no merge.
const noRank = int32(1<<31 - 1)

func (m *bpe) rank(a, b int32) merge {
	if mg, ok := m.merges[pairKey(a, b)]; ok {
		return mg
	}
	return merge{rank: noRank}
}

// heapThreshold is the word length above which the O(n log n) heap merge
// replaces the O(n²) scan that is faster on short words.
const heapThreshold = 48

// mergeLinear repeatedly merges the lowest-ranked adjacent pair, the
// leftmost on ties, which is the order Rust's priority queue produces.
func (m *bpe) mergeLinear(syms []int32) []int32 {
	if len(syms) < 2 {
		return syms
	}
	var buf [heapThreshold]merge
	ranks := buf[:len(syms)-1]
	for i := range ranks {
		ranks[i] = m.rank(syms[i], syms[i+1])
	}
	for len(ranks) > 0 {
		best := 0
		for i := 1; i < len(ranks); i++ {
			if ranks[i].rank < ranks[best].rank {
				best = i
			}
		}
		if ranks[best].rank == noRank {
			break
		}
		syms[best] = ranks[best].id
		syms = append(syms[:best+1], syms[best+2:]...)
		ranks = append(ranks[:best], ranks[best+1:]...)
		if best > 0 {
			ranks[best-1] = m.rank(syms[best-1], syms[best])
		}
		if best < len(ranks) {
			ranks[best] = m.rank(syms[best], syms[best+1])
		}
	}
	return syms
}

// wordCache is a bounded, sharded, concurrency-safe map from word to ids.
// Once a shard is full it stops accepting words, as the Rust cache does, so
// memory stays bounded without eviction bookkeeping.
type wordCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
}

const (
	cacheShards   = 32
	cacheShardCap = 4096
)

type cacheShard struct {
	mu sync.RWMutex
	m  map[string][]int32
}

func (c *wordCache) init() {
	c.seed = maphash.MakeSeed()
	for i := range c.shards {
		c.shards[i].m = make(map[string][]int32)
	}
}

func (c *wordCache) shard(word string) *cacheShard {
	return &c.shards[maphash.String(c.seed, word)%cacheShards]
}

func (c *wordCache) get(word string) ([]int32, bool) {
	s := c.shard(word)
	s.mu.RLock()
	ids, ok := s.m[word]
	s.mu.RUnlock()
	return ids, ok
}

func (c *wordCache) put(word string, ids []int32) {
	s := c.shard(word)
	s.mu.Lock()
	if len(s.m) < cacheShardCap {
		// Copies: word may alias a caller's buffer and ids the caller's dst.
		s.m[string([]byte(word))] = append([]int32(nil), ids...)
	}
	s.mu.Unlock()
}

// fallbackName is the byte_fallback token of b, Rust's format!("<{:#04X}>").
func fallbackName(b byte) string { return fmt.Sprintf("<0x%02X>", b) }
