// Command iambind-fn is the iambind KRM function: it reads a ResourceList on
// stdin and writes one on stdout (kustomize exec transformer, kpt fn
// eval/render). All logic lives in the generator package.
package main

import (
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
)

//go:embed README.md
var readme []byte

//go:embed metadata.yaml
var metadata []byte

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// A Guardrails object among the items is checked against every planned role.
	process := generator.ProcessWith(guardrails.Options())
	if slices.Contains(args, "--help") || slices.Contains(args, "--doc") || slices.Contains(args, "-h") {
		if slices.Contains(args, "-h") {
			os.Args = []string{os.Args[0], "--help"}
		}
		if err := fn.AsMain(process, fn.WithDocs(readme, metadata)); err != nil {
			return 1
		}
		return 0
	}
	in, err := io.ReadAll(stdin)
	if err != nil {
		fmt.Fprintf(stderr, "iambind-fn: reading stdin: %v\n", err)
		return 1
	}
	var problems []string
	processor := fn.ResourceListProcessorFunc(func(rl *fn.ResourceList) (bool, error) {
		ok, err := process(rl)
		for _, r := range rl.Results {
			if r.Severity == fn.Error || r.Severity == fn.Warning {
				problems = append(problems, formatResult(r))
			}
		}
		return ok, err
	})
	out, err := runSafely(processor, in)
	// kustomize never shows results, only stderr: say every problem there, one per line.
	for _, p := range problems {
		fmt.Fprintf(stderr, "iambind-fn: %s\n", p)
	}
	if err != nil && len(problems) == 0 {
		fmt.Fprintf(stderr, "iambind-fn: %v\n", err)
	}
	if out != nil {
		if _, werr := stdout.Write(out); werr != nil {
			fmt.Fprintf(stderr, "iambind-fn: writing stdout: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		return 1
	}
	return 0
}

// formatResult renders a result as one line: "error: IdentityBinding ns/name: field: message".
func formatResult(r *fn.Result) string {
	line := string(r.Severity) + ": "
	if ref := r.ResourceRef; ref != nil {
		id := ref.Name
		if ref.Namespace != "" {
			id = ref.Namespace + "/" + ref.Name
		}
		line += ref.Kind + " " + id + ": "
	}
	if r.Field != nil && r.Field.Path != "" {
		line += r.Field.Path + ": "
	}
	return line + r.Message
}

// runSafely runs the SDK and turns a panic inside it (its sort and YAML
// writer index aliased scalars without checking, e.g. `kind: *k`) into an
// error: hostile input must get a message and exit 1, never a stack trace.
func runSafely(p fn.ResourceListProcessor, in []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("malformed input: the ResourceList could not be processed (YAML aliases in apiVersion, kind or metadata are not supported): %v", r)
		}
	}()
	return fn.Run(p, in)
}
