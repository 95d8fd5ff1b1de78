package krmout_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/krmout"
)

// sameAsSDK parses input twice and checks Write gives exactly ToYAML's bytes.
func sameAsSDK(t *testing.T, name string, input []byte, process func(*fn.ResourceList)) {
	t.Helper()
	parse := func() *fn.ResourceList {
		rl, err := fn.ParseResourceList(input)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if process != nil {
			process(rl)
		}
		return rl
	}
	want, err := parse().ToYAML()
	if err != nil {
		t.Fatalf("%s: ToYAML: %v", name, err)
	}
	rl := parse()
	var got bytes.Buffer
	if err := krmout.Write(&got, rl); err != nil {
		t.Fatalf("%s: Write: %v", name, err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s: Write differs from ToYAML at byte %d:\n--- ToYAML\n%s\n--- Write\n%s", name,
			firstDiff(got.Bytes(), want), around(want, firstDiff(got.Bytes(), want)), around(got.Bytes(), firstDiff(got.Bytes(), want)))
	}
	if len(rl.Items) != 0 {
		t.Errorf("%s: Write left %d items in the list", name, len(rl.Items))
	}
}

// Every golden case's expected output and every example's rendered output:
// results, functionConfig, comments and all the shapes iambind emits.
func TestWriteMatchesSDKOnRepositoryOutputs(t *testing.T) {
	var files []string
	for _, pattern := range []string{
		"../../generator/testdata/golden/*/_expected.yaml",
		"../../examples/*/expected*.yaml",
		"../../examples/*/*/expected*.yaml",
	} {
		m, _ := filepath.Glob(pattern)
		files = append(files, m...)
	}
	if len(files) < 30 {
		t.Fatalf("found only %d outputs to compare; did the layout change?", len(files))
	}
	compared := 0
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte("kind: ResourceList")) {
			continue
		}
		sameAsSDK(t, f, b, nil)
		compared++
	}
	if compared < 30 {
		t.Fatalf("compared only %d ResourceLists", compared)
	}
}

// The benchmark input through the generator with injection on: thousands of
// items, several chunks, every item kind iambind writes.
func TestWriteMatchesSDKOnSyntheticOutput(t *testing.T) {
	for _, inject := range []bool{false, true} {
		input := synth.ResourceListWith(2000, synth.Options{Inject: inject})
		sameAsSDK(t, "synthetic", input, func(rl *fn.ResourceList) {
			if ok, err := generator.Process(rl); !ok || err != nil {
				t.Fatalf("Process: ok=%v err=%v", ok, err)
			}
		})
	}
}

// Shapes the repository's outputs may not have: comments in every place,
// items with equal sort keys (the order of ties must be the SDK's), block
// and quoted scalars, long lines, a list without items.
func TestWriteMatchesSDKOnEdgeCases(t *testing.T) {
	long := strings.Repeat("word ", 60)
	cases := map[string]string{
		"no items": `apiVersion: config.kubernetes.io/v1
kind: ResourceList
functionConfig:
  apiVersion: v1
  kind: ConfigMap
  metadata: {name: cfg}
`,
		"empty": ``,
		"comments and scalars": `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
# head of the first item
- apiVersion: v1 # line comment
  kind: ConfigMap
  metadata:
    name: b
    annotations:
      config.kubernetes.io/path: "b.yaml"
  data:
    script: |
      #!/bin/sh
        indented first? no, second line
      echo "hi"
    keep: |+
      trailing

    indented: |2
        starts with spaces
    folded: >
      a folded
      scalar
    quoted: "tab\there"
    single: 'it''s'
    long: "` + long + `"
    unicode: "grüße ✓"
    empty: ""
    nulls: ~
  # foot of data
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, labels: {x: "1"}}
  list: [1, 2, {a: b}]
  nested:
  - - x
    - y
  - {}
  - []
`,
		"ties": `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
` + ties(300),
	}
	for name, in := range cases {
		sameAsSDK(t, name, []byte(in), func(rl *fn.ResourceList) {
			rl.Results = append(rl.Results, &fn.Result{Severity: fn.Warning, Message: "a result",
				ResourceRef: &fn.ResourceRef{APIVersion: "v1", Kind: "ConfigMap", Name: "a"}})
		})
	}
}

// ties writes n ConfigMaps in three groups of equal apiVersion, kind,
// namespace and name but different data, shuffled deterministically.
func ties(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: same" +
			string(rune('a'+(i*7)%3)) + "\n  data:\n    i: \"" + strings.Repeat("x", i%11) + string(rune('A'+i%26)) + "\"\n")
	}
	return b.String()
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func around(b []byte, i int) string {
	return string(b[max(0, i-200):min(len(b), i+200)])
}
