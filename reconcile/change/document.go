package change

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
)

// DecodeIAMDocument undoes the URL encoding IAM applies to policy documents
// it returns. PathUnescape, not QueryUnescape: a literal '+' in a document
// (e.g. a role name in a Resource) must stay a '+'.
func DecodeIAMDocument(s string) (string, error) {
	if s == "" || strings.HasPrefix(strings.TrimSpace(s), "{") {
		// IAM always encodes '{' (as %7B); a document that starts as JSON
		// (as some emulators return it) is taken as is.
		return s, nil
	}
	out, err := url.PathUnescape(s)
	if err != nil {
		return "", fmt.Errorf("decoding policy document: %w", err)
	}
	return out, nil
}

// NormalizeDocument turns a decoded JSON document into a value whose deep
// equality is IAM's semantic equality: a one-element list equals its element
// ("a" ≡ ["a"]), and lists of strings are order-free sets.
func NormalizeDocument(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = NormalizeDocument(e)
		}
		return out
	case []any:
		allStrings := true
		out := make([]any, 0, len(t))
		for _, e := range t {
			n := NormalizeDocument(e)
			if _, ok := n.(string); !ok {
				allStrings = false
			}
			out = append(out, n)
		}
		if allStrings {
			strs := make([]string, 0, len(out))
			seen := map[string]bool{}
			for _, e := range out {
				if s := e.(string); !seen[s] {
					seen[s] = true
					strs = append(strs, s)
				}
			}
			sort.Strings(strs)
			out = out[:0]
			for _, s := range strs {
				out = append(out, s)
			}
		}
		if len(out) == 1 {
			return out[0]
		}
		return out
	default:
		return v
	}
}

// ParseDocument decodes a JSON document, numbers kept as written.
func ParseDocument(doc string) (any, error) {
	var v any
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	return v, nil
}

// SameDocument reports whether two policy documents are semantically equal.
func SameDocument(a, b string) (bool, error) {
	va, err := ParseDocument(a)
	if err != nil {
		return false, err
	}
	vb, err := ParseDocument(b)
	if err != nil {
		return false, err
	}
	ja, _ := json.Marshal(NormalizeDocument(va))
	jb, _ := json.Marshal(NormalizeDocument(vb))
	return bytes.Equal(ja, jb), nil
}

// CanonicalJSON re-encodes a document compactly with sorted keys.
func CanonicalJSON(doc []byte) (string, error) {
	v, err := ParseDocument(string(doc))
	if err != nil {
		return "", err
	}
	out, err := generator.MarshalJSON(v, false)
	return string(out), err
}

// PrettyJSON renders a document with sorted keys and a 2-space indent; an
// invalid document is returned as is, so a diff still shows something.
func PrettyJSON(doc string) string {
	if doc == "" {
		return ""
	}
	v, err := ParseDocument(doc)
	if err != nil {
		return doc
	}
	out, err := generator.MarshalJSON(v, true)
	if err != nil {
		return doc
	}
	return string(out)
}

// DocumentDiff is a line diff of two pretty-printed documents ("-" before,
// "+" after, " " common), from a longest common subsequence of lines.
func DocumentDiff(before, after string) string {
	a := splitLines(PrettyJSON(before))
	b := splitLines(PrettyJSON(after))
	return Text(Lines(a, b, false))
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
