package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/spf13/pflag"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/krmstream"
)

// Stream mode: stdin that is not a ResourceList is a plain multi-document
// YAML stream (`kustomize build`, `helm template`, a Helm post-renderer
// hook). It gets the same expansion as a ResourceList; what differs is the
// envelope: the output is a stream too, bindings and clusters (local config
// that a Helm release or `kubectl apply` must not receive) are left out
// unless --keep-inputs, and problems go to stderr only, with nothing on
// stdout, since a stream has no place for results.

// options are the command-line flags; only stream mode takes any.
type options struct {
	clusterFiles []string
	keepInputs   bool
}

func (o options) any() bool { return len(o.clusterFiles) > 0 || o.keepInputs }

func parseFlags(args []string) (options, error) {
	var o options
	fs := pflag.NewFlagSet("iambind-fn", pflag.ContinueOnError)
	fs.SetOutput(io.Discard) // the one-line error below says it
	fs.StringArrayVar(&o.clusterFiles, "cluster", nil, "a file of IdentityCluster objects (repeatable)")
	fs.BoolVar(&o.keepInputs, "keep-inputs", false, "keep IdentityBindings and IdentityClusters in the output stream")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%v (flags: --cluster FILE, --keep-inputs, --help)", err)
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q: the input is read from stdin (flags: --cluster FILE, --keep-inputs, --help)", fs.Arg(0))
	}
	return o, nil
}

func runStream(gen generator.Options, in *krmstream.Input, opts options, stdout, stderr io.Writer) int {
	r := expandStream(gen, in, opts)
	if r.bystandersNeeded {
		// A binding injects, and some workload may be among the objects
		// set aside: the whole stream again, every document parsed.
		full, err := krmstream.ReadInput(bytes.NewReader(in.Data))
		if err != nil {
			r = failed(fmt.Sprintf("iambind-fn: error: %v", err))
		} else {
			r = expandStream(gen, full, opts)
		}
	}
	for _, line := range r.stderr {
		fmt.Fprintln(stderr, line)
	}
	if r.code != 0 {
		return r.code
	}
	if _, err := stdout.Write(r.stdout); err != nil {
		fmt.Fprintf(stderr, "iambind-fn: error: writing stdout: %v\n", err)
		return 1
	}
	return 0
}

// streamResult is what a run prints and exits with, decided before any of
// it is printed.
type streamResult struct {
	stdout           []byte
	stderr           []string
	code             int
	bystandersNeeded bool // nothing decided: run again without setting aside
}

func failed(lines ...string) streamResult { return streamResult{stderr: lines, code: 1} }

// expandStream runs the expansion over a stream. When its reading set
// bystanders aside (generator.Bystander), Generate runs without them, and
// they are written back in place; where a binding may inject, they are
// taken back first.
func expandStream(gen generator.Options, in *krmstream.Input, opts options) streamResult {
	items, source, fromFiles, problems := readInputs(in, opts.clusterFiles)
	if len(problems) == 0 {
		problems = leftBehindPlans(items)
	}
	if len(problems) == 0 && source.SetAside() > 0 {
		if injectionCheck(items) {
			if err := source.TakeBack(); err != nil {
				problems = append(problems, "stdin: "+err.Error())
			}
			// The --cluster files' objects come first, then the stream's.
			items = append(items[:len(fromFiles):len(fromFiles)], source.Objects...)
		} else {
			gen.SetAside = true
		}
	}
	if len(problems) > 0 {
		r := streamResult{code: 1}
		for _, p := range problems {
			r.stderr = append(r.stderr, "iambind-fn: error: "+p)
		}
		return r
	}
	inputs := make(map[*fn.KubeObject]bool, len(items))
	for _, obj := range items {
		inputs[obj] = true
	}

	rl := &fn.ResourceList{Items: items, FunctionConfig: fn.NewEmptyKubeObject()}
	ok, err := generator.ProcessWith(gen)(rl)
	if errors.Is(err, generator.ErrBystandersNeeded) {
		return streamResult{bystandersNeeded: true}
	}
	var r streamResult
	for _, res := range rl.Results {
		if res.Severity == fn.Error || res.Severity == fn.Warning {
			r.stderr = append(r.stderr, "iambind-fn: "+formatResult(res))
		}
	}
	if err != nil || !ok {
		if err != nil {
			r.stderr = append(r.stderr, fmt.Sprintf("iambind-fn: error: %v", err))
		}
		r.code = 1
		return r
	}

	out, err := streamOutput(rl.Items, inputs, fromFiles, opts.keepInputs)
	if err != nil {
		return failed(fmt.Sprintf("iambind-fn: error: %v", err))
	}
	// Encoded in full before the first byte goes out: on error, stdout stays empty.
	// The output is about the input's size and more: grown once, not doubled up to it.
	var buf bytes.Buffer
	buf.Grow(len(in.Data) + len(in.Data)/2)
	if err := writeStream(&buf, source, out); err != nil {
		return failed(fmt.Sprintf("iambind-fn: error: %v", err))
	}
	r.stdout = buf.Bytes()
	return r
}

// injectionCheck is mayInject; tests replace it to reach the fallback.
var injectionCheck = mayInject

// mayInject tells whether a binding could inject: a binding or cluster
// that sets spec.inject, or a cluster with discovery (whose bindings
// inject by default). It may say yes where none does (the run then only
// parses what it could have done without); where it says no and a binding
// injects after all, Generate refuses to run without the bystanders.
func mayInject(items fn.KubeObjects) (may bool) {
	defer func() {
		if recover() != nil {
			may = true
		}
	}()
	for _, obj := range items {
		if !isInputKind(obj) || (obj.GetKind() != generator.KindBinding && obj.GetKind() != generator.KindCluster) {
			continue
		}
		if spec := obj.GetMap("spec"); spec != nil && (spec.GetMap("inject") != nil || spec.GetMap("discovery") != nil) {
			return true
		}
	}
	return false
}

// readInputs parses the stream and every --cluster file. It returns the
// items to process (the files' clusters first, then the stream), the parsed
// stream (whose unchanged objects are written as they came), and the set of
// objects that came from files, or every problem found.
func readInputs(in *krmstream.Input, clusterFiles []string) (fn.KubeObjects, *krmstream.Stream, map[*fn.KubeObject]bool, []string) {
	var items fn.KubeObjects
	var problems []string
	fromFiles := map[*fn.KubeObject]bool{}
	for _, file := range clusterFiles {
		objs, err := readClusterFile(file)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		for _, obj := range objs {
			fromFiles[obj] = true
		}
		items = append(items, objs...)
	}
	stream, err := readSafely(in.Stream)
	switch {
	case err != nil:
		problems = append(problems, "stdin: "+err.Error())
	case stream.Len() == 0:
		// In `render | iambind-fn` an empty stream is most often a render
		// that failed without pipefail; passed on, it would tell kubectl
		// --prune or Argo CD that every object is gone.
		problems = append(problems, "stdin: the stream holds no object (did the command before the pipe fail?)")
	}
	if stream == nil {
		return items, nil, fromFiles, problems
	}
	return append(items, stream.Objects...), stream, fromFiles, problems
}

// readClusterFile reads a --cluster file: IdentityCluster objects only, so
// that a file meant for another purpose is not silently taken as input.
func readClusterFile(file string) (fn.KubeObjects, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("--cluster %s: %v", file, err)
	}
	defer f.Close()
	stream, err := readSafely(func() (*krmstream.Stream, error) { return krmstream.ReadStream(f) })
	if err != nil {
		return nil, fmt.Errorf("--cluster %s: %v", file, err)
	}
	objs := stream.Objects
	if len(objs) == 0 {
		return nil, fmt.Errorf("--cluster %s: holds no object; it must hold %s %s objects", file, generator.APIVersion, generator.KindCluster)
	}
	for _, obj := range objs {
		if obj.GetAPIVersion() != generator.APIVersion || obj.GetKind() != generator.KindCluster {
			return nil, fmt.Errorf("--cluster %s: holds %s %s %s; only %s %s objects belong there",
				file, obj.GetAPIVersion(), obj.GetKind(), obj.GetName(), generator.APIVersion, generator.KindCluster)
		}
	}
	return objs, nil
}

// readSafely parses a stream with the guard of ResourceList mode: hostile
// YAML (aliases where a string belongs) gets a message, not a stack trace.
func readSafely(parse func() (*krmstream.Stream, error)) (stream *krmstream.Stream, err error) {
	defer func() {
		if p := recover(); p != nil {
			stream, err = nil, fmt.Errorf("malformed input: the stream could not be read (YAML aliases in apiVersion, kind or metadata are not supported): %v", p)
		}
	}()
	return parse()
}

// leftBehindPlans refuses a stream that holds iambind's plans but no
// IdentityBinding: that is the output of an earlier iambind-fn, which left
// its inputs out. Processing it again would take every plan for one of a
// removed binding and drop it, with the ServiceAccounts it created and the
// annotations it set: the whole IAM wiring of the stream, silently.
func leftBehindPlans(items fn.KubeObjects) []string {
	var plans []string
	for _, obj := range items {
		switch {
		case obj.GetAPIVersion() == generator.APIVersion && obj.GetKind() == generator.KindBinding:
			return nil
		case obj.GetAPIVersion() == "v1" && obj.GetKind() == "ConfigMap" &&
			obj.GetLabel(generator.LabelManagedBy) == generator.ManagedByValue &&
			obj.GetLabel(generator.LabelPlan) == generator.PlanRoleValue && obj.GetAnnotation(generator.AnnotationBinding) != "":
			plans = append(plans, fmt.Sprintf("ConfigMap %s/%s: metadata.annotations.%s: this plan was generated from IdentityBinding %s, which is not in the input: iambind-fn already ran over this stream and left the bindings out. Run it once, or give the earlier run --keep-inputs",
				obj.GetNamespace(), obj.GetName(), generator.AnnotationBinding, obj.GetAnnotation(generator.AnnotationBinding)))
		}
	}
	return plans
}

// streamOutput is the processed items as the stream receives them: the
// inputs (clusters, bindings, guardrails: every iambind.dev object) left out
// unless keepInputs, the clusters of --cluster files always left out (they
// were not in the stream), and the kpt file annotations of generated objects
// removed (a stream has no files).
func streamOutput(items fn.KubeObjects, inputs, fromFiles map[*fn.KubeObject]bool, keepInputs bool) (fn.KubeObjects, error) {
	out := make(fn.KubeObjects, 0, len(items))
	for _, obj := range items {
		switch {
		case fromFiles[obj]:
			continue
		case inputs[obj]:
			if !keepInputs && isInputKind(obj) {
				continue
			}
		default:
			if err := krmstream.ClearFileAnnotations(obj); err != nil {
				return nil, fmt.Errorf("internal error: %v", err)
			}
		}
		out = append(out, obj)
	}
	return out, nil
}

func isInputKind(obj *fn.KubeObject) bool {
	group, _, _ := strings.Cut(obj.GetAPIVersion(), "/")
	return group == generator.Group
}

// writeStream is Stream.Write with the same guard as reading.
func writeStream(w io.Writer, source *krmstream.Stream, objs fn.KubeObjects) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("malformed input: the stream could not be written (YAML aliases in metadata are not supported): %v", p)
		}
	}()
	return source.Write(w, objs)
}
