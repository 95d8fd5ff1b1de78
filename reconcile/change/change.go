// Package change is the vocabulary every reconcile room plans in (IAM roles
// and OIDC providers, S3 discovery buckets, EKS Pod Identity associations):
// what happens to a resource as a whole (Kind), which of its fields differ
// (Field), and how both read in a text or markdown plan. One vocabulary, so
// a reviewer reads every room's changes the same way.
package change

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// Kind is what happens to a resource as a whole. Its string is the JSON
// plan's "action".
type Kind string

const (
	Create   Kind = "create"
	Update   Kind = "update"
	Replace  Kind = "replace"
	Delete   Kind = "delete"
	NoChange Kind = "no-change"
)

// Symbol is the kind's mark at the start of a text plan line.
func (k Kind) Symbol() string {
	return map[Kind]string{Create: "+", Update: "~", Replace: "-/+", Delete: "-", NoChange: "="}[k]
}

// Verb is the kind as a text plan line says it ("no change", not "no-change").
func (k Kind) Verb() string {
	if k == NoChange {
		return "no change"
	}
	return string(k)
}

// Count returns how many of items have the kind k; kindOf reads an item's
// kind. Every room's plan counts its changes by kind for the summary line
// and the JSON summary, each over its own item type.
func Count[T any](items []T, kindOf func(*T) Kind, k Kind) int {
	n := 0
	for i := range items {
		if kindOf(&items[i]) == k {
			n++
		}
	}
	return n
}

// Field is one field that differs. Documents carry a line diff instead of
// before and after.
type Field struct {
	Field  string `json:"field"`
	Before any    `json:"before,omitempty"`
	After  any    `json:"after,omitempty"`
	Diff   string `json:"-"` // a line diff of documents, for text output
}

// WriteText writes the field change as the indented lines under its
// resource's line in a text plan.
func (c Field) WriteText(w io.Writer) {
	switch {
	case c.Diff != "":
		fmt.Fprintf(w, "    %s:\n", c.Field)
		for _, line := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
			fmt.Fprintf(w, "      %s\n", line)
		}
	case c.Before == nil:
		fmt.Fprintf(w, "    + %s: %s\n", c.Field, Show(c.After))
	case c.After == nil:
		fmt.Fprintf(w, "    - %s: %s\n", c.Field, Show(c.Before))
	default:
		fmt.Fprintf(w, "    ~ %s: %s → %s\n", c.Field, Show(c.Before), Show(c.After))
	}
}

// Show renders a field's value: strings quoted, JSON as it is, numbers and
// booleans as Go prints them, anything else as JSON.
func Show(v any) string {
	switch t := v.(type) {
	case string:
		return fmt.Sprintf("%q", t)
	case json.RawMessage:
		return string(t)
	case int, int32, int64, bool:
		return fmt.Sprint(t)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
