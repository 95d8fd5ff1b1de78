// Command iambind-fn is the iambind KRM function: it reads a ResourceList on
// stdin and writes one on stdout (kustomize exec transformer, kpt fn
// eval/render), or, given a plain multi-document YAML stream, writes the
// stream back expanded (pipes, Helm post-rendering: stream.go). All logic
// lives in the generator package.
package main

import (
	"bufio"
	_ "embed"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/internal/buildinfo"
	"github.com/iambind/iambind/internal/krmout"
	"github.com/iambind/iambind/internal/krmstream"
	"github.com/iambind/iambind/policylint"
)

//go:embed README.md
var readme []byte

//go:embed metadata.yaml
var metadata []byte

func main() {
	waiting := prepareStdin()
	heap.start(waiting)
	// The IAM catalogue is decoded ahead of the first lint; while a
	// producer still works, on a core it leaves free (a lint that comes
	// first decodes it itself).
	if waiting {
		atIdlePriority(policylint.Prepare)
	} else {
		go policylint.Prepare()
	}
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// heap is the process's heap set-up (heap.go); run tells it when the input is in.
var heap heapSetup

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	// A Guardrails object among the items is checked against every planned role.
	gen := guardrails.Options()
	process := generator.ProcessWith(gen)
	if slices.Contains(args, "--help") || slices.Contains(args, "--doc") || slices.Contains(args, "-h") {
		if slices.Contains(args, "-h") {
			os.Args = []string{os.Args[0], "--help"}
		}
		if err := fn.AsMain(process, fn.WithDocs(readme, metadata)); err != nil {
			return 1
		}
		return 0
	}
	opts, err := parseFlags(args)
	if err != nil {
		fmt.Fprintf(stderr, "iambind-fn: error: %v\n", err)
		return 1
	}
	// Read ahead: a stream's documents are decoded as they arrive, but for
	// those the expansion passes by (stream.go), which are not parsed at all.
	input, err := krmstream.ReadInputSettingAside(stdin, generator.Bystander)
	heap.done()
	if err != nil {
		fmt.Fprintf(stderr, "iambind-fn: reading stdin: %v\n", err)
		return 1
	}
	in := input.Data
	if !krmstream.IsResourceList(in) {
		return runStream(gen, input, opts, stdout, stderr)
	}
	if opts.any() {
		// A ResourceList carries its own config: kpt and kustomize would
		// never see what a flag changed.
		fmt.Fprintf(stderr, "iambind-fn: error: --cluster and --keep-inputs are for YAML streams; in a ResourceList, give the IdentityCluster as the function config or among the items\n")
		return 1
	}
	rl, err := processSafely(process, in)
	if rl != nil {
		// kustomize never shows results, only stderr: say every problem there, one per line.
		for _, r := range rl.Results {
			if r.Severity == fn.Error || r.Severity == fn.Warning {
				fmt.Fprintf(stderr, "iambind-fn: %s\n", formatResult(r))
			}
		}
		// The list is written even when processing failed: kpt reads the
		// results from it. krmout writes exactly the bytes of the SDK's
		// ResourceList.ToYAML, item by item (internal/krmout says why).
		out := bufio.NewWriterSize(stdout, 1<<20)
		werr := writeSafely(out, rl)
		if werr == nil {
			if werr = out.Flush(); werr != nil {
				werr = fmt.Errorf("writing stdout: %w", werr)
			}
		}
		if werr != nil {
			fmt.Fprintf(stderr, "iambind-fn: %v\n", werr)
			return 1
		}
	}
	if err != nil {
		if rl == nil || !hasProblems(rl.Results) {
			fmt.Fprintf(stderr, "iambind-fn: %v\n", err)
		}
		return 1
	}
	return 0
}

// processSafely is the SDK's fn.Run without its output step: parse, process,
// and report a failure as an error. The list is returned whenever it was
// parsed, for its results.
func processSafely(process fn.ResourceListProcessorFunc, in []byte) (rl *fn.ResourceList, err error) {
	// The SDK's parser and sort index aliased scalars without checking (e.g.
	// `kind: *k`): hostile input must get a message and exit 1, never a stack trace.
	defer func() {
		if r := recover(); r != nil {
			rl, err = nil, fmt.Errorf("malformed input: the ResourceList could not be processed (YAML aliases in apiVersion, kind or metadata are not supported): %v", r)
		}
	}()
	rl, err = fn.ParseResourceList(in)
	if err != nil {
		return nil, err
	}
	ok, err := process(rl)
	if ok && err == nil {
		// Which build produced this output: kpt prints results, so a
		// reviewer can tell which function version rendered a package.
		rl.Results = append(rl.Results, &fn.Result{Severity: fn.Info, Message: "iambind-fn " + buildinfo.Get().String()})
	}
	if err == nil && !ok {
		err = fmt.Errorf("error: function failure")
	}
	return rl, err
}

// writeSafely is krmout.Write with the same guard: its sort reads every
// item's apiVersion, kind and metadata before the first byte is written.
func writeSafely(w io.Writer, rl *fn.ResourceList) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("malformed input: the ResourceList could not be written (YAML aliases in apiVersion, kind or metadata are not supported): %v", r)
		}
	}()
	if err := krmout.Write(w, rl); err != nil {
		return fmt.Errorf("writing stdout: %w", err)
	}
	return nil
}

func hasProblems(results fn.Results) bool {
	for _, r := range results {
		if r.Severity == fn.Error || r.Severity == fn.Warning {
			return true
		}
	}
	return false
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
