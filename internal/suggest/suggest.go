// Package suggest finds the known names closest to a misspelt one, for
// "did you mean ...?" hints in error messages.
package suggest

import (
	"sort"
	"strings"
)

// Closest returns up to limit candidates close to word, best first.
//
// Closeness is the edit distance (Levenshtein, case-insensitive) between
// word and a candidate, also compared without a candidate's path prefix
// ("service-role/X" against "X"). A candidate that extends word
// (AmazonS3ReadOnly → AmazonS3ReadOnlyAccess) counts as one edit: a name cut
// short is the commonest slip. A candidate further than a third of the
// word's length (at least 2 edits) is not suggested: it would be noise.
func Closest(word string, candidates []string, limit int) []string {
	w := strings.ToLower(word)
	maxDist := max(2, len([]rune(w))/3)
	type scored struct {
		name string
		dist int
	}
	var hits []scored
	for _, c := range candidates {
		lc := strings.ToLower(c)
		if c == word {
			continue
		}
		d := distance(w, lc)
		if i := strings.LastIndex(lc, "/"); i >= 0 {
			base := lc[i+1:]
			d = min(d, distance(w, base))
			if strings.HasPrefix(base, w) && d > 1 {
				d = 1
			}
		}
		if len(w) >= 4 && strings.HasPrefix(lc, w) && d > 1 {
			d = 1
		}
		if d <= maxDist {
			hits = append(hits, scored{c, d})
		}
	}
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].dist != hits[j].dist {
			return hits[i].dist < hits[j].dist
		}
		if li, lj := len(hits[i].name), len(hits[j].name); li != lj {
			return li < lj // the shorter completion first
		}
		return hits[i].name < hits[j].name
	})
	out := make([]string, 0, min(limit, len(hits)))
	// Only near-ties of the best: a clear winner stands alone.
	for i := 0; i < len(hits) && i < limit && hits[i].dist <= hits[0].dist+1; i++ {
		out = append(out, hits[i].name)
	}
	return out
}

// Phrase renders suggestions as "; did you mean A?" or "; did you mean A, B
// or C?", or "" when there are none.
func Phrase(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return "; did you mean " + names[0] + "?"
	}
	return "; did you mean " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1] + "?"
}

// Distance is the case-insensitive edit distance (Levenshtein) of a and b.
func Distance(a, b string) int { return distance(strings.ToLower(a), strings.ToLower(b)) }

// distance is the Levenshtein distance over runes, in O(len(b)) memory.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
