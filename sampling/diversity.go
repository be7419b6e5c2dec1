package sampling

import (
	"fmt"
	"math"
)

// tdsFunc returns the trajectory diversity score named by name ("" is the
// default TDSInverseSelfBLEU). Every score is 0 for fewer than two
// completions: one sample shows no diversity either way.
func tdsFunc(name string) (func([][]int32) float64, error) {
	switch name {
	case "", TDSInverseSelfBLEU:
		return func(s [][]int32) float64 {
			if len(s) < 2 {
				return 0
			}
			return 1 - SelfBLEU123(s)
		}, nil
	case TDSDistinct3:
		return func(s [][]int32) float64 {
			if len(s) < 2 {
				return 0
			}
			return Distinct3(s)
		}, nil
	case TDSEditDistance:
		return NormalizedEditDistance, nil
	case TDSMMR1CodeSelfBLEU:
		return SelfBLEU123, nil
	}
	return nil, fmt.Errorf("%w: vas.tds %q, want one of %q, %q, %q, %q", ErrConfig, name,
		TDSInverseSelfBLEU, TDSDistinct3, TDSEditDistance, TDSMMR1CodeSelfBLEU)
}

// ngram is an n-gram of up to 3 tokens; unused trailing slots are 0, which
// is unambiguous because each n has its own count map.
type ngram [3]int32

// ngramCounts holds the 1-, 2- and 3-gram counts of one sequence.
type ngramCounts [3]map[ngram]int32

func countNgrams(s []int32) ngramCounts {
	var c ngramCounts
	for n := 1; n <= 3; n++ {
		m := make(map[ngram]int32, max(0, len(s)-n+1))
		for i := 0; i+n <= len(s); i++ {
			var g ngram
			copy(g[:], s[i:i+n])
			m[g]++
		}
		c[n-1] = m
	}
	return c
}

// SelfBLEU123 is MMR1's self_bleu_123 similarity of a group of token
// sequences: the mean over i of nltk's sentence_bleu(references = the other
// sequences, hypothesis = sequence i, weights = (⅓, ⅓, ⅓),
// smoothing = method1 with ε = 0.1), as nltk 3.8 computes it:
//
//	p_n  = Σ_g min(c_hyp(g), max_ref c_ref(g)) / max(1, |hyp|−n+1)   (ε/den when the numerator is 0)
//	BP   = 1 if |hyp| > r else exp(1 − r/|hyp|),  r = the reference length closest to |hyp| (shorter on ties)
//	BLEU = BP·exp(Σ_n ⅓·log p_n),  and 0 when no unigram matches.
//
// It is 0 for fewer than two sequences. Higher means more similar. Cost
// O(N²·L) map look-ups for N sequences of length L.
func SelfBLEU123(seqs [][]int32) float64 {
	if len(seqs) < 2 {
		return 0
	}
	counts := make([]ngramCounts, len(seqs))
	for i, s := range seqs {
		counts[i] = countNgrams(s)
	}
	sum := 0.0
	for i := range seqs {
		sum += sentenceBLEU123(seqs, counts, i)
	}
	return sum / float64(len(seqs))
}

// sentenceBLEU123 scores hypothesis h against all other sequences.
func sentenceBLEU123(seqs [][]int32, counts []ngramCounts, h int) float64 {
	hl := len(seqs[h])
	var num [3]int
	for n := 0; n < 3; n++ {
		for g, c := range counts[h][n] {
			best := int32(0)
			for j := range counts {
				if j != h {
					best = max(best, counts[j][n][g])
				}
			}
			num[n] += int(min(c, best))
		}
	}
	if num[0] == 0 {
		return 0
	}
	ref := -1
	for j, s := range seqs {
		if j == h {
			continue
		}
		d, bestD := abs(len(s)-hl), abs(ref-hl)
		if ref < 0 || d < bestD || (d == bestD && len(s) < ref) {
			ref = len(s)
		}
	}
	bp := 1.0
	if hl <= ref {
		bp = math.Exp(1 - float64(ref)/float64(hl))
	}
	logSum := 0.0
	for n := 0; n < 3; n++ {
		den := float64(max(1, hl-n))
		p := float64(num[n]) / den
		if num[n] == 0 {
			p = 0.1 / den
		}
		logSum += math.Log(p) / 3
	}
	return bp * math.Exp(logSum)
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// Distinct3 is MMR1's distinct_3: the number of distinct 3-grams pooled over
// all sequences divided by the number of 3-grams; 0 when there are none.
// Higher means more diverse.
func Distinct3(seqs [][]int32) float64 {
	seen := make(map[ngram]struct{})
	total := 0
	for _, s := range seqs {
		for i := 0; i+3 <= len(s); i++ {
			seen[ngram{s[i], s[i+1], s[i+2]}] = struct{}{}
			total++
		}
	}
	if total == 0 {
		return 0
	}
	return float64(len(seen)) / float64(total)
}

// NormalizedEditDistance is the mean over pairs i < j of
// Levenshtein(s_i, s_j)/max(|s_i|, |s_j|) (0 for two empty sequences): a
// diversity in [0, 1], the unsquared form of MMR1 App. A.3's estimator. It
// is 0 for fewer than two sequences. Cost O(N²·L²).
func NormalizedEditDistance(seqs [][]int32) float64 {
	if len(seqs) < 2 {
		return 0
	}
	var row []int
	sum, pairs := 0.0, 0
	for i := range seqs {
		for j := i + 1; j < len(seqs); j++ {
			var d int
			d, row = levenshtein(seqs[i], seqs[j], row)
			if m := max(len(seqs[i]), len(seqs[j])); m > 0 {
				sum += float64(d) / float64(m)
			}
			pairs++
		}
	}
	return sum / float64(pairs)
}

// levenshtein returns the token-level edit distance of a and b (unit
// insert, delete, substitute) using row as scratch, which it returns grown.
func levenshtein(a, b []int32, row []int) (int, []int) {
	if cap(row) < len(b)+1 {
		row = make([]int, len(b)+1)
	}
	row = row[:len(b)+1]
	for j := range row {
		row[j] = j
	}
	for i := 1; i <= len(a); i++ {
		diag := row[0]
		row[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			next := min(row[j]+1, row[j-1]+1, diag+cost)
			diag, row[j] = row[j], next
		}
	}
	return row[len(b)], row
}
