// Command schemagen writes the JSON Schemas of iambind's input kinds
// (schemas/<kind>-iambind-v1alpha1.json, kubeconform's file name convention)
// from the Go types in generator/ (and guardrails/), so the schemas cannot
// drift from what the function decodes:
//
//	go generate ./generator     (or: make schemas)
//
// It reads the Go source rather than reflecting over compiled types, so a kind
// added to generator/ (any struct with apiVersion, kind, metadata and spec
// fields) gets a schema without editing this program. Field descriptions come
// from the Go doc comments, else from the rules table in rules.go, which also
// holds what the Go types cannot say (patterns, enums, ranges, defaults); a rule
// for a field that no longer exists is an error.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sources are the packages (relative to the repository root) that declare
// kinds. guardrails/ may not exist yet in a branch: it is skipped then.
var Sources = []string{"generator", "guardrails"}

func main() {
	root := flag.String("root", ".", "the repository root")
	out := flag.String("out", "schemas", "directory to write the schemas to, relative to the root")
	flag.Parse()
	var dirs []string
	for _, s := range Sources {
		dirs = append(dirs, filepath.Join(*root, s))
	}
	files, skipped, err := Generate(dirs)
	if len(skipped) > 0 {
		fmt.Fprintf(os.Stderr, "schemagen: no %s: skipped\n", strings.Join(skipped, ", "))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
		os.Exit(1)
	}
	if !filepath.IsAbs(*out) {
		*out = filepath.Join(*root, *out)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
		os.Exit(1)
	}
	// Remove schemas of kinds that no longer exist, then write the current ones.
	old, _ := filepath.Glob(filepath.Join(*out, "*-iambind-*.json"))
	for _, f := range old {
		if _, keep := files[filepath.Base(f)]; !keep {
			os.Remove(f)
		}
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "schemagen: %v\n", err)
			os.Exit(1)
		}
	}
}
