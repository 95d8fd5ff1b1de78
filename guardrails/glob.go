package guardrails

import "strings"

// IAM globs: * matches any run of characters (slashes and colons included),
// ? exactly one. Action names are case-insensitive in IAM, and IAM names
// (a managed policy's among them) are unique without regard to case, so a
// deny list must not be dodged by another spelling: both compare folded.
// Role paths and Resource ARNs are compared as written.

// globMatch reports whether the glob pattern matches s.
func globMatch(pattern, s string, fold bool) bool {
	return globsIntersect(pattern, quoteGlob(s), fold)
}

// quoteGlob makes s a pattern with no wildcards, matching only itself. A
// literal * or ? cannot occur in the values matched here (IAM names, ARNs and
// paths have neither), except a statement's own globs, which are compared
// with globsIntersect instead.
func quoteGlob(s string) string {
	return strings.NewReplacer("*", "\x00", "?", "\x01").Replace(s)
}

// globsIntersect reports whether some string matches both globs a and b: a
// statement action `iam:Put*` and a denied action `iam:PutRolePolicy`, or
// `iam:*Policy*` and `iam:Put*`, both intersect. This is what makes a
// wildcard in a policy unable to hide a denied action.
func globsIntersect(a, b string, fold bool) bool {
	if fold {
		a, b = strings.ToLower(a), strings.ToLower(b)
	}
	// Most pairs name different services: s3:Get* never meets iam:Put*.
	// Both prefixes are literal and end at the first colon, so they must be
	// equal for a string to start with both.
	if sa, _, ok := strings.Cut(a, ":"); ok && !strings.ContainsAny(sa, "*?") {
		if sb, _, ok := strings.Cut(b, ":"); ok && !strings.ContainsAny(sb, "*?") && sa != sb {
			return false
		}
	}
	return dp(len(a), len(b), func(f func(i, j int) bool, i, j int) bool {
		switch {
		case i == len(a) && j == len(b):
			return true
		case i < len(a) && a[i] == '*':
			// a's star matches nothing, or also eats b's next token.
			return f(i+1, j) || (j < len(b) && f(i, j+1))
		case j < len(b) && b[j] == '*':
			return f(i, j+1) || (i < len(a) && f(i+1, j))
		case i < len(a) && j < len(b):
			return (a[i] == '?' || b[j] == '?' || a[i] == b[j]) && f(i+1, j+1)
		}
		return false
	})
}

// globCovers reports whether every string matching glob d also matches glob
// p, case-insensitively: the NotAction entry `ssm:*` covers the denied
// action `ssm:Send*`, `ssm:Get*` does not. It may answer false for an
// unusual pair that is covered (a NotAction statement is then judged to
// grant the action: the safe side), never true for one that is not: d's *
// can only be absorbed by a * of p, d's ? by a ? or * of p.
func globCovers(p, d string) bool {
	p, d = strings.ToLower(p), strings.ToLower(d)
	return dp(len(p), len(d), func(f func(i, j int) bool, i, j int) bool {
		switch {
		case i == len(p) && j == len(d):
			return true
		case i < len(p) && p[i] == '*':
			return f(i+1, j) || (j < len(d) && f(i, j+1))
		case i == len(p) || j == len(d) || d[j] == '*':
			return false
		case d[j] == '?':
			return p[i] == '?' && f(i+1, j+1)
		}
		return (p[i] == '?' || p[i] == d[j]) && f(i+1, j+1)
	})
}

// dp runs a memoised recursion over positions 0..n × 0..m.
func dp(n, m int, step func(f func(i, j int) bool, i, j int) bool) bool {
	memo := make([]int8, (n+1)*(m+1)) // 0 unknown, 1 false, 2 true
	var f func(i, j int) bool
	f = func(i, j int) bool {
		k := i*(m+1) + j
		if memo[k] == 0 {
			memo[k] = 1
			if step(f, i, j) {
				memo[k] = 2
			}
		}
		return memo[k] == 2
	}
	return f(0, 0)
}
