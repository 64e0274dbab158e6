package hardware

import (
	"sort"
	"strings"
)

// Nearest returns up to three candidates closest to name by edit distance,
// for "did you mean" hints. Substring matches rank first.
func Nearest(name string, candidates []string) []string { return nearest(name, candidates) }

func nearest(name string, candidates []string) []string {
	n := strings.ToLower(name)
	type scored struct {
		s string
		d int
	}
	var all []scored
	seen := map[string]bool{}
	for _, c := range candidates {
		if seen[c] {
			continue
		}
		seen[c] = true
		lc := strings.ToLower(c)
		d := levenshtein(n, lc)
		if n != "" && (strings.Contains(lc, n) || strings.Contains(n, lc)) {
			d = 0
		}
		all = append(all, scored{c, d})
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].d != all[j].d {
			return all[i].d < all[j].d
		}
		return all[i].s < all[j].s
	})
	limit := len(n)/2 + 2
	var out []string
	for _, s := range all {
		if len(out) == 3 || s.d > limit {
			break
		}
		out = append(out, s.s)
	}
	return out
}

func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
