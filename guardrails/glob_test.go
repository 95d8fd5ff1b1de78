package guardrails

import "testing"

func TestGlobsIntersect(t *testing.T) {
	for _, c := range []struct {
		a, b string
		fold bool
		want bool
	}{
		{"iam:PutRolePolicy", "iam:PutRolePolicy", true, true},
		{"IAM:putrolepolicy", "iam:PutRolePolicy", true, true},
		{"IAM:putrolepolicy", "iam:PutRolePolicy", false, false},
		{"iam:Put*", "iam:PutRolePolicy", true, true},
		{"iam:*Role*", "iam:PutRolePolicy", true, true},
		{"iam:*Policy", "iam:Put*", true, true},
		{"iam:Get*", "iam:PutRolePolicy", true, false},
		{"iam:?utRolePolicy", "iam:PutRolePolicy", true, true},
		{"*", "lambda:UpdateFunctionCode", true, true},
		{"s3:*", "iam:PutRolePolicy", true, false},
		{"*:*", "iam:PassRole", true, true},
		{"iam:PassRol?", "iam:PassRole", true, true},
		{"iam:PassRole?", "iam:PassRole", true, false},
		{"a*b", "*c", true, false},
		{"a*b*c", "*x*", true, true}, // axbc
		{"a*b*c", "a*x*c", true, true},
		{"", "", false, true},
		{"*", "", false, true},
		{"?", "", false, false},
	} {
		if got := globsIntersect(c.a, c.b, c.fold); got != c.want {
			t.Errorf("globsIntersect(%q, %q, fold=%v) = %v, want %v", c.a, c.b, c.fold, got, c.want)
		}
		if got := globsIntersect(c.b, c.a, c.fold); got != c.want {
			t.Errorf("globsIntersect(%q, %q, fold=%v) = %v, want %v (swapped)", c.b, c.a, c.fold, got, c.want)
		}
	}
}

func TestGlobMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"/iambind/*", "/iambind/", true},
		{"/iambind/*", "/iambind/team-a/", true},
		{"/iambind/*", "/iambind-system/", false},
		{"/iambind/", "/iambind/team-a/", false},
		{"arn:aws:iam::aws:policy/*", "arn:aws:iam::aws:policy/ReadOnlyAccess", true},
		{"arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/administratoraccess", false},
		{"x", "x*", false}, // a literal * in s is not a wildcard
		{"x?", "x*", true},
	} {
		if got := globMatch(c.pattern, c.s, false); got != c.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
