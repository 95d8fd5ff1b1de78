package reconcile

import (
	"bytes"
	"encoding/json"
	"testing"
)

// TestWriteJSONIsEncoderBytes: WriteJSON writes what json.Encoder (indent
// two spaces, no HTML escaping) writes, for the documents iambind prints
// and for the shapes it streams or leaves to the encoder.
func TestWriteJSONIsEncoderBytes(t *testing.T) {
	type inner struct {
		A string            `json:"a"`
		B []json.RawMessage `json:"b"`
		C *JSONResult       `json:"c,omitempty"`
	}
	type withEmbedded struct {
		First int `json:"first"`
		inner
		Last    []inner  `json:"last"`
		Nothing []string `json:"nothing"`
		Empty   []string `json:"empty,omitempty"`
		Bytes   []byte   `json:"bytes"`
		hidden  int
		Skipped string `json:"-"`
		NoTag   map[string]any
	}
	type tagged struct {
		N int `json:"n,string"`
	}
	plan := driftPlan(t)
	docs := map[string]any{
		"plan document":     NewJSONDocument("plan", plan),
		"apply document":    &JSONDocument{Command: "apply", Result: &JSONResult{Errors: []string{"<x> & y"}}, Roles: plan.Roles},
		"empty document":    JSONDocument{},
		"embedded":          withEmbedded{First: 1, inner: inner{A: "<a>", B: []json.RawMessage{json.RawMessage(`{"z": 1, "a": [1, 2]}`)}}, Last: []inner{{A: "x"}, {}}, Empty: []string{}, Bytes: []byte("hi"), hidden: 3, NoTag: map[string]any{"k": []int{}}},
		"no fields":         struct{}{},
		"a string option":   tagged{N: 4},
		"a map":             map[string]int{"b": 1, "a": 2},
		"a nil pointer":     (*JSONDocument)(nil),
		"a list at the top": []string{"a", "b"},
	}
	for name, v := range docs {
		t.Run(name, func(t *testing.T) {
			var want bytes.Buffer
			enc := json.NewEncoder(&want)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(v); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteJSON(&got, v); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("WriteJSON wrote\n%s\njson.Encoder writes\n%s", got.String(), want.String())
			}
		})
	}
}
