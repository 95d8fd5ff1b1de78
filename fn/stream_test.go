package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/internal/krmstream"
)

// TestStreamGolden runs each case of testdata/stream/: input.yaml on stdin,
// the flags in args (if any), in the case's directory. A bad-* case must
// fail: exit 1, exactly the lines of expected.stderr, nothing on stdout.
// Any other must succeed with expected.yaml on stdout, and on stderr the
// warnings of expected.stderr or nothing.
// WRITE_GOLDEN_OUTPUT=1 refreshes the expected files.
func TestStreamGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/stream/*/input.yaml")
	if err != nil || len(dirs) < 10 {
		t.Fatalf("want at least 10 cases in testdata/stream, found %d (%v)", len(dirs), err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			r := runStreamCase(t, dir)
			if strings.HasPrefix(filepath.Base(dir), "bad-") {
				if r.exitCode != 1 {
					t.Errorf("exit code %d, want 1", r.exitCode)
				}
				if r.stdout != "" {
					t.Errorf("stdout is not empty on error:\n%s", r.stdout)
				}
				golden.Check(t, filepath.Join(dir, "expected.stderr"), r.stderr)
				return
			}
			if r.exitCode != 0 {
				t.Fatalf("exit code %d, stderr:\n%s", r.exitCode, r.stderr)
			}
			golden.Check(t, filepath.Join(dir, "expected.yaml"), r.stdout)
			// Warnings are the only lines of a success.
			if _, err := os.Stat(filepath.Join(dir, "expected.stderr")); err == nil || os.Getenv("WRITE_GOLDEN_OUTPUT") != "" && r.stderr != "" {
				golden.Check(t, filepath.Join(dir, "expected.stderr"), r.stderr)
			} else if r.stderr != "" {
				t.Errorf("stderr is not empty:\n%s", r.stderr)
			}
		})
	}
}

func caseArgs(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "args"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(data))
}

func runStreamCase(t *testing.T, dir string) fnRun {
	t.Helper()
	input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return runFnIn(t, dir, input, caseArgs(t, dir)...)
}

// runFnIn is runFn with arguments, in directory dir.
func runFnIn(t *testing.T, dir string, input []byte, args ...string) fnRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), badInputTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, fnBin, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(input)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("iambind-fn did not run: %v", err)
	}
	return fnRun{stdout: out.String(), stderr: errOut.String(), exitCode: cmd.ProcessState.ExitCode()}
}

// TestStreamSameAsResourceList: the objects of every successful stream case,
// put in a ResourceList (with the --cluster files' clusters among the
// items), come out of ResourceList mode as the very documents stream mode
// wrote, byte for byte — once kpt's file annotations are taken off
// (ResourceList mode tells kpt which file each generated object goes to; a
// stream has no files) and the inputs left out as stream mode leaves them.
func TestStreamSameAsResourceList(t *testing.T) {
	for _, name := range []string{"chart-output", "keep-inputs", "list-objects", "cluster-flag"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata/stream", name)
			args := caseArgs(t, dir)
			stream := runStreamCase(t, dir)
			if stream.exitCode != 0 {
				t.Fatalf("stream mode failed: %s", stream.stderr)
			}

			// The same objects as a ResourceList.
			input, err := os.ReadFile(filepath.Join(dir, "input.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			items := readObjects(t, input)
			fromFiles := 0
			for i := 0; i+1 < len(args); i++ {
				if args[i] == "--cluster" {
					data, err := os.ReadFile(filepath.Join(dir, args[i+1]))
					if err != nil {
						t.Fatal(err)
					}
					clusters := readObjects(t, data)
					fromFiles += len(clusters)
					items = append(clusters, items...)
				}
			}
			rl, err := (&fn.ResourceList{Items: items, FunctionConfig: fn.NewEmptyKubeObject()}).ToYAML()
			if err != nil {
				t.Fatal(err)
			}
			res := runFn(t, rl)
			if res.exitCode != 0 {
				t.Fatalf("ResourceList mode failed: %s", res.stderr)
			}
			out, err := fn.ParseResourceList([]byte(res.stdout))
			if err != nil {
				t.Fatal(err)
			}

			keep := slices.Contains(args, "--keep-inputs")
			var want []string
			for _, obj := range out.Items {
				if strings.HasPrefix(obj.GetAPIVersion(), "iambind.dev/") && (!keep || fromFiles > 0 && obj.GetKind() == "IdentityCluster") {
					continue
				}
				if obj.GetLabel("app.kubernetes.io/managed-by") == "iambind" {
					if err := krmstream.ClearFileAnnotations(obj); err != nil {
						t.Fatal(err)
					}
				}
				var buf bytes.Buffer
				if err := krmstream.Write(&buf, fn.KubeObjects{obj}); err != nil {
					t.Fatal(err)
				}
				want = append(want, buf.String())
			}
			got := documents(stream.stdout)
			// Stream mode keeps the input's order, ResourceList mode sorts:
			// compare the documents, not their order.
			slices.Sort(want)
			slices.Sort(got)
			if len(got) != len(want) {
				t.Fatalf("stream mode wrote %d documents, ResourceList mode %d items", len(got), len(want))
			}
			for i := range got {
				if got[i] != want[i] {
					t.Errorf("documents differ:\nstream mode:\n%s\nResourceList mode:\n%s", got[i], want[i])
				}
			}
		})
	}
}

func readObjects(t *testing.T, data []byte) fn.KubeObjects {
	t.Helper()
	objs, err := krmstream.Read(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// documents splits a stream as written by kyaml into its documents, each
// ending in a newline.
func documents(stream string) []string {
	if stream == "" {
		return nil
	}
	docs := strings.Split(stream, "\n---\n")
	for i := range docs[:len(docs)-1] {
		docs[i] += "\n"
	}
	return docs
}

// TestStreamFixedPoint: with --keep-inputs the output is an input again,
// and processing it changes nothing.
func TestStreamFixedPoint(t *testing.T) {
	dir := "testdata/stream/keep-inputs"
	first := runStreamCase(t, dir)
	if first.exitCode != 0 {
		t.Fatalf("first run: %s", first.stderr)
	}
	second := runFnIn(t, dir, []byte(first.stdout), "--keep-inputs")
	if second.exitCode != 0 {
		t.Fatalf("second run: %s", second.stderr)
	}
	if second.stdout != first.stdout {
		t.Errorf("a second run changed the stream:\nfirst:\n%s\nsecond:\n%s", first.stdout, second.stdout)
	}
}
