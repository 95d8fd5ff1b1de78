package guardrails

import "strings"

// IAM globs: * matches any run of characters (slashes and colons included),
// ? exactly one. Action names are case-insensitive in IAM; ARNs and paths are
// compared as written.

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
	type key struct{ i, j int }
	memo := map[key]bool{}
	var f func(i, j int) bool
	f = func(i, j int) bool {
		k := key{i, j}
		if v, ok := memo[k]; ok {
			return v
		}
		var r bool
		switch {
		case i == len(a) && j == len(b):
			r = true
		case i < len(a) && a[i] == '*':
			// a's star matches nothing, or also eats b's next token.
			r = f(i+1, j) || (j < len(b) && f(i, j+1))
		case j < len(b) && b[j] == '*':
			r = f(i, j+1) || (i < len(a) && f(i+1, j))
		case i < len(a) && j < len(b):
			r = (a[i] == '?' || b[j] == '?' || a[i] == b[j]) && f(i+1, j+1)
		}
		memo[k] = r
		return r
	}
	return f(0, 0)
}
