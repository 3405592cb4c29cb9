package config

import (
	"strings"
)

// closestNames returns the known variable names nearest to an unknown one, within
// maxDist edits and fewer for a short name (LOG is not a typo of ENV); names are
// also compared without the SMARTONBOARD_ prefix, so that SMARTONBOARD_DATABASE_URL
// suggests DATABASE_URL.
func closestNames(name string, known []string, maxDist int) []string {
	strip := func(s string) string { return strings.TrimPrefix(s, "SMARTONBOARD_") }
	maxDist = min(maxDist, max(1, len(strip(name))/4))
	return closest(known, maxDist, func(k string) int {
		return min(editDistance(name, k), editDistance(strip(name), strip(k)))
	})
}

// closestValue suggests the allowed value an operator most likely meant: the same
// word in another case, a word it abbreviates or extends ("prod", "warning"), or
// one two edits away.
func closestValue(v string, allowed []string) []string {
	v = strings.ToLower(v)
	return closest(allowed, 2, func(a string) int {
		if len(v) >= 3 && (strings.HasPrefix(a, v) || strings.HasPrefix(v, a)) {
			return 0
		}
		return editDistance(v, a)
	})
}

// closest returns every candidate at the smallest distance, if that is at most maxDist.
func closest(candidates []string, maxDist int, dist func(string) int) []string {
	var best []string
	bestDist := maxDist + 1
	for _, c := range candidates {
		switch d := dist(c); {
		case d > maxDist:
		case d < bestDist:
			best, bestDist = []string{c}, d
		case d == bestDist:
			best = append(best, c)
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, ignoring case.
func editDistance(a, b string) int {
	ra, rb := []rune(strings.ToLower(a)), []rune(strings.ToLower(b))
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
