package change

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestWriteText(t *testing.T) {
	cases := []struct {
		c    Field
		want string
	}{
		{Field{Field: "description", After: "shop"}, "    + description: \"shop\"\n"},
		{Field{Field: "tags.team", Before: "a"}, "    - tags.team: \"a\"\n"},
		{Field{Field: "maxSessionDuration", Before: 3600, After: int32(7200)}, "    ~ maxSessionDuration: 3600 → 7200\n"},
		{Field{Field: "trustPolicy", After: json.RawMessage(`{"a":1}`), Diff: "+ {\n+ }\n"}, "    trustPolicy:\n      + {\n      + }\n"},
		{Field{Field: "audiences", After: []string{"sts.amazonaws.com"}}, "    + audiences: [\"sts.amazonaws.com\"]\n"},
		{Field{Field: "tags", After: map[string]string{"b": "2", "a": "1"}}, "    + tags: {\"a\":\"1\",\"b\":\"2\"}\n"},
	}
	for _, tc := range cases {
		var b strings.Builder
		tc.c.WriteText(&b)
		if b.String() != tc.want {
			t.Errorf("%s: got %q, want %q", tc.c.Field, b.String(), tc.want)
		}
	}
}

func TestKindWords(t *testing.T) {
	for k, want := range map[Kind]string{Create: "+ create", Update: "~ update", Replace: "-/+ replace", Delete: "- delete", NoChange: "= no change"} {
		if got := k.Symbol() + " " + k.Verb(); got != want {
			t.Errorf("%s: got %q, want %q", k, got, want)
		}
	}
}

func TestLCS(t *testing.T) {
	a := strings.Split("a b c d e", " ")
	b := strings.Split("a x c e y", " ")
	lcs := LCS(a, b)
	if lcs[0][0] != 3 { // a, c, e
		t.Fatalf("LCS length %d, want 3", lcs[0][0])
	}
	if lcs[len(a)][0] != 0 || lcs[0][len(b)] != 0 {
		t.Fatal("the table's last row and column must be 0")
	}
	if got := LCS(nil, b); len(got) != 1 || got[0][0] != 0 {
		t.Fatalf("empty side: %v", got)
	}
}

func TestCount(t *testing.T) {
	type item struct{ kind Kind }
	items := []item{{Create}, {NoChange}, {Create}, {Delete}}
	kindOf := func(it *item) Kind { return it.kind }
	for k, want := range map[Kind]int{Create: 2, Update: 0, Delete: 1, NoChange: 1} {
		if got := Count(items, kindOf, k); got != want {
			t.Errorf("Count(%s) = %d, want %d", k, got, want)
		}
	}
	if got := Count(nil, kindOf, Create); got != 0 {
		t.Errorf("Count of no items = %d, want 0", got)
	}
}

func TestLinesTieBreak(t *testing.T) {
	a, b := []string{"x", "old", "y"}, []string{"x", "new", "y"}
	if got, want := Text(Lines(a, b, false)), "  x\n- old\n+ new\n  y\n"; got != want {
		t.Errorf("removal first:\n%s\nwant\n%s", got, want)
	}
	if got, want := Text(Lines(a, b, true)), "  x\n+ new\n- old\n  y\n"; got != want {
		t.Errorf("addition first:\n%s\nwant\n%s", got, want)
	}
	lines := Lines([]string{"a"}, []string{"b", "a"}, false)
	if len(lines) != 2 || lines[0] != (Line{'+', "b", 0, 0}) || lines[1] != (Line{' ', "a", 0, 1}) {
		t.Errorf("indexes: %+v", lines)
	}
}
