package iamglob

import "testing"

func TestMatch(t *testing.T) {
	for _, c := range []struct {
		pattern, s string
		want       bool
	}{
		{"system:serviceaccount:shop:*", "system:serviceaccount:shop:orders", true},
		{"system:serviceaccount:shop:*", "system:serviceaccount:pay:orders", false},
		{"*", "a/b:c", true},
		{"a*c", "a/b/c", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"etl-*-job", "etl-nightly-job", true},
		{"etl-*-job", "etl-nightly-jobs", false},
		{"", "", true},
		{"", "x", false},
		{"**", "", true},
		{"system:serviceaccount:shop:*", "system:serviceaccount:shop:orders", true},
		{"system:serviceaccount:shop:*", "system:serviceaccount:shop2:orders", false},
		{"system:serviceaccount:*:orders", "system:serviceaccount:a:b:orders", true},
		{"system:serviceaccount:shop:etl-?", "system:serviceaccount:shop:etl-1", true},
		{"system:serviceaccount:shop:etl-?", "system:serviceaccount:shop:etl-12", false},
		{"*", "", true},
		{"a*b*c", "aXXbYYc", true},
		{"a*b*c", "aXXbYY", false},
		{"exact", "exact", true},
	} {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}
