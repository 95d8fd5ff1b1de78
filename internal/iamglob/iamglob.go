// Package iamglob matches IAM condition globs (StringLike), shared by the
// web-identity and Pod Identity trust evaluators.
package iamglob

// Match is IAM StringLike: * matches any run of characters (including none
// and including '/' and ':'), ? exactly one character. path.Match would stop
// * at '/', so this matches rune by rune, backtracking to the last *.
func Match(pattern, s string) bool {
	p, t := []rune(pattern), []rune(s)
	pi, ti := 0, 0
	star, mark := -1, 0
	for ti < len(t) {
		switch {
		case pi < len(p) && (p[pi] == '?' || p[pi] == t[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == '*':
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}
