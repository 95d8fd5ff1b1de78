package generator_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"github.com/kptdev/krm-functions-sdk/go/fn/testhelpers"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
)

// process is what iambind-fn runs: the generator with Guardrails.
var process = generator.ProcessWith(guardrails.Options())

const goldenDir = "testdata/golden"

// TestGolden runs every testdata/golden/<case>/ through Process: the input
// files (and _fnconfig.yaml when present) give _expected.yaml. Refresh with
// WRITE_GOLDEN_OUTPUT=1, then read every changed file against docs/api.md.
func TestGolden(t *testing.T) {
	testhelpers.RunGoldenTests(t, goldenDir, process)
}

// TestGoldenFixedPoint re-runs each successful case's expected output through
// Process and checks it is unchanged (a fixed point).
func TestGoldenFixedPoint(t *testing.T) {
	if os.Getenv("WRITE_GOLDEN_OUTPUT") != "" {
		t.Skip("golden files are being rewritten")
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), "error-") {
			continue
		}
		dir := filepath.Join(goldenDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			expected, err := os.ReadFile(filepath.Join(dir, "_expected.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			rl, err := fn.ParseResourceList(expected)
			if err != nil {
				t.Fatal(err)
			}
			if hasErrorResult(rl.Results) {
				t.Fatalf("%s has error results: name the case error-*", dir)
			}
			rl.FunctionConfig = goldenFnConfig(t, dir)
			ok, err := process(rl)
			if !ok || err != nil {
				t.Fatalf("re-run failed: ok=%v err=%v results=%v", ok, err, rl.Results)
			}
			again, err := rl.ToYAML()
			if err != nil {
				t.Fatal(err)
			}
			if string(again) != string(expected) {
				t.Errorf("re-running over the expected output changes it:\n%s", firstDiff(string(expected), string(again)))
			}
		})
	}
}

// TestGoldenErrorCases checks the error cases kept nothing partial: the
// expected items are the input items (iambind-fn exits non-zero for them).
func TestGoldenErrorCases(t *testing.T) {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "error-") {
			continue
		}
		dir := filepath.Join(goldenDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			in := &fn.ResourceList{Items: goldenInputs(t, dir), FunctionConfig: goldenFnConfig(t, dir)}
			want, _ := (&fn.ResourceList{Items: goldenInputs(t, dir)}).ToYAML()
			ok, err := process(in)
			if ok || err != nil {
				t.Fatalf("Process = %v, %v; want false, nil", ok, err)
			}
			for _, r := range in.Results {
				if r.Severity == fn.Error && (r.ResourceRef == nil || r.Field == nil || r.Field.Path == "") {
					t.Errorf("error result without resourceRef + field.path: %v", r)
				}
			}
			in.Results = nil
			got, _ := in.ToYAML()
			if string(got) != string(want) {
				t.Errorf("items changed on error:\n%s", firstDiff(string(want), string(got)))
			}
		})
	}
}

func hasErrorResult(rs fn.Results) bool {
	for _, r := range rs {
		if r.Severity == fn.Error {
			return true
		}
	}
	return false
}

// goldenInputs reads a case's input files as RunGoldenTests does.
func goldenInputs(t *testing.T, dir string) fn.KubeObjects {
	t.Helper()
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var items fn.KubeObjects
	for _, f := range files { // ReadDir sorts by name, like RunGoldenTests
		if strings.HasPrefix(f.Name(), "_") || !testhelpers.IsValidYAMLOrKptfile(f.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := fn.ParseKubeObjects(b)
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, objs...)
	}
	return items
}

// goldenFnConfig is the case's _fnconfig.yaml, or an empty object as RunGoldenTests passes.
func goldenFnConfig(t *testing.T, dir string) *fn.KubeObject {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "_fnconfig.yaml"))
	if os.IsNotExist(err) {
		return fn.NewEmptyKubeObject()
	}
	if err != nil {
		t.Fatal(err)
	}
	obj, err := fn.ParseKubeObject(b)
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return "line " + itoa(i+1) + ":\n- " + la[i] + "\n+ " + lb[i]
		}
	}
	return "lengths differ: " + itoa(len(la)) + " vs " + itoa(len(lb)) + " lines"
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
