package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommittedSchemasMatchTheGoTypes fails when schemas/ is not what the
// generator makes from generator/ today: run `go generate ./generator`
// (make schemas) and commit the result.
func TestCommittedSchemasMatchTheGoTypes(t *testing.T) {
	var dirs []string
	for _, s := range Sources {
		dirs = append(dirs, filepath.Join("../..", s))
	}
	want, _, err := Generate(dirs)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range []string{"IdentityCluster", "IdentityBinding"} {
		if _, ok := want[FileName(kind)]; !ok {
			t.Errorf("no schema generated for %s", kind)
		}
	}
	committed, _ := filepath.Glob("../../schemas/*-iambind-*.json")
	var names []string
	for _, f := range committed {
		names = append(names, filepath.Base(f))
	}
	for name, data := range want {
		got, err := os.ReadFile(filepath.Join("../../schemas", name))
		if err != nil {
			t.Errorf("schemas/%s is missing: run `go generate ./generator` (make schemas)", name)
			continue
		}
		if !bytes.Equal(got, data) {
			t.Errorf("schemas/%s differs from the Go types: run `go generate ./generator` (make schemas) and commit", name)
		}
		if !json.Valid(got) {
			t.Errorf("schemas/%s is not JSON", name)
		}
	}
	for _, name := range names {
		if _, ok := want[name]; !ok {
			t.Errorf("schemas/%s belongs to no kind in generator/: run `go generate ./generator`", name)
		}
	}
	if !slices.IsSorted(names) {
		t.Fatal("glob order")
	}
}

// TestGenerateFollowsTheSource checks the generator really reads the Go
// source: a new field, its doc comment, a kind, and a stale rule.
func TestGenerateFollowsTheSource(t *testing.T) {
	dir := t.TempDir()
	src := `package generator

// Widget is a test kind.
type Widget struct {
	APIVersion string     ` + "`json:\"apiVersion\"`" + `
	Kind       string     ` + "`json:\"kind\"`" + `
	Metadata   ObjectMeta ` + "`json:\"metadata\"`" + `
	Spec       WidgetSpec ` + "`json:\"spec\"`" + `
}

type ObjectMeta struct {
	Name string ` + "`json:\"name\"`" + `
}

type WidgetSpec struct {
	// Size is how big the widget is.
	Size  int32             ` + "`json:\"size,omitempty\"`" + `
	Names []string          ` + "`json:\"names,omitempty\"`" + `
	Tags  map[string]string ` + "`json:\"tags,omitempty\"`" + `
	Flex  Flexible          ` + "`json:\"flex,omitempty\"`" + `
	skip  bool
}

// Flexible decodes itself.
type Flexible []string

func (f *Flexible) UnmarshalJSON([]byte) error { return nil }
`
	if err := os.WriteFile(filepath.Join(dir, "api.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	files, _, err := generate([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(files["widget-iambind-v1alpha1.json"], &s); err != nil {
		t.Fatalf("%v: %v", err, files)
	}
	spec := s["properties"].(map[string]any)["spec"].(map[string]any)
	props := spec["properties"].(map[string]any)
	if spec["additionalProperties"] != false {
		t.Error("spec must refuse unknown fields, as the decoder does")
	}
	size := props["size"].(map[string]any)
	if size["type"] != "integer" || size["description"] != "Size is how big the widget is." {
		t.Errorf("size = %v", size)
	}
	if _, typed := props["flex"].(map[string]any)["type"]; typed {
		t.Error("a type with its own UnmarshalJSON must not get a guessed type")
	}
	if _, ok := props["skip"]; ok {
		t.Error("unexported fields are not JSON fields")
	}
	if !strings.Contains(string(files["widget-iambind-v1alpha1.json"]), `"const": "Widget"`) {
		t.Error("kind const missing")
	}

	// A rule for a field the types no longer have is an error.
	if _, _, err := generate([]string{dir}, map[string]map[string]*Schema{"Widget": {"spec.gone": {Pattern: "x"}}}); err == nil || !strings.Contains(err.Error(), "spec.gone") {
		t.Errorf("stale rule: err = %v", err)
	}
}
