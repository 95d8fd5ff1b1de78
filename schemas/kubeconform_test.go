// Package schemas holds the generated JSON Schemas of iambind's kinds; this
// test runs the real kubeconform with them over every example and over the
// bad-input corpus.
package schemas

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/tooltest"
)

// kubeconformVersion is the kubeconform the Makefile installs into bin/.
const kubeconformVersion = "v0.7.0"

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

// kubeconform returns bin/kubeconform, installing the pinned version with
// `go install` when it is missing (as `make tools` does).
func kubeconform(t *testing.T) string {
	return tooltest.Binary(t, "kubeconform", "github.com/yannh/kubeconform/cmd/kubeconform", kubeconformVersion)
}

type kcResult struct {
	Filename         string `json:"filename"`
	Kind             string `json:"kind"`
	Name             string `json:"name"`
	Status           string `json:"status"`
	Msg              string `json:"msg"`
	ValidationErrors []struct {
		Path string `json:"path"`
		Msg  string `json:"msg"`
	} `json:"validationErrors"`
}

// runKubeconform validates files against schemas/ only: the Kubernetes
// schemas kubeconform would download are out of reach offline, so every kind
// outside iambind.dev is skipped (by name, so that an iambind kind without a
// schema is an error rather than silently skipped, as -ignore-missing-schemas would).
func runKubeconform(t *testing.T, skip []string, files ...string) []kcResult {
	t.Helper()
	args := []string{"-strict", "-verbose", "-output", "json",
		"-schema-location", filepath.Join(repoRoot, "schemas") + "/{{ .ResourceKind }}{{ .KindSuffix }}.json"}
	if len(skip) > 0 {
		args = append(args, "-skip", strings.Join(skip, ","))
	}
	cmd := exec.Command(kubeconform(t), append(args, files...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if _, isExit := err.(*exec.ExitError); err != nil && !isExit {
		t.Fatal(err)
	}
	var doc struct {
		Resources []kcResult `json:"resources"`
	}
	if jerr := json.Unmarshal(out.Bytes(), &doc); jerr != nil {
		t.Fatalf("kubeconform output is not JSON (%v): %s\n%s", jerr, out.String(), errb.String())
	}
	return doc.Resources
}

// iambindDocs reads a YAML stream (a ResourceList is read as its items) and
// returns its iambind.dev resources and the kinds of everything else.
func iambindDocs(t *testing.T, data []byte) (ours []*yaml.RNode, others []string) {
	t.Helper()
	nodes, err := (&kio.ByteReader{Reader: bytes.NewReader(data), OmitReaderAnnotations: true}).Read()
	if err != nil {
		return nil, nil // not a Kubernetes YAML stream (e.g. a workflow): nothing of ours
	}
	for _, n := range nodes {
		if strings.HasPrefix(n.GetApiVersion(), "iambind.dev/") {
			ours = append(ours, n)
		} else if k := n.GetKind(); k != "" {
			others = append(others, k)
		}
	}
	return ours, others
}

// TestExamplesValidateWithKubeconform: every iambind resource in examples/
// and deploy/ is valid against the generated schemas.
func TestExamplesValidateWithKubeconform(t *testing.T) {
	var files []string
	skip := map[string]bool{}
	want := 0
	for _, dir := range []string{"examples", "deploy"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ours, others := iambindDocs(t, data)
			if len(ours) == 0 {
				return nil
			}
			files = append(files, path)
			want += len(ours)
			for _, k := range others {
				skip[k] = true
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want < 5 {
		t.Fatalf("found only %d iambind resources in the examples: the walk is broken", want)
	}
	valid := 0
	for _, r := range runKubeconform(t, slices.Sorted(maps.Keys(skip)), files...) {
		switch r.Status {
		case "statusValid":
			valid++
		case "statusSkipped":
		default:
			t.Errorf("%s: %s %s: %s %s", rel(r.Filename), r.Kind, r.Name, r.Status, r.Msg)
		}
	}
	if valid != want {
		t.Errorf("kubeconform validated %d iambind resources, the examples hold %d", valid, want)
	}
}

// TestGoldenInputsValidateWithKubeconform: what the function accepts (the
// inputs of its non-error golden cases) the schemas accept too.
func TestGoldenInputsValidateWithKubeconform(t *testing.T) {
	dir := t.TempDir()
	cases, _ := filepath.Glob(filepath.Join(repoRoot, "generator", "testdata", "golden", "*"))
	var files []string
	for _, c := range cases {
		if strings.HasPrefix(filepath.Base(c), "error-") {
			continue
		}
		inputs, _ := filepath.Glob(filepath.Join(c, "*.yaml"))
		for _, in := range inputs {
			if strings.HasPrefix(filepath.Base(in), "_") {
				continue
			}
			data, _ := os.ReadFile(in)
			ours, _ := iambindDocs(t, data)
			if len(ours) > 0 {
				files = append(files, writeDocs(t, dir, filepath.Base(c)+"-"+filepath.Base(in), ours))
			}
		}
	}
	if len(files) < 5 {
		t.Fatalf("found only %d golden inputs", len(files))
	}
	for _, r := range runKubeconform(t, nil, files...) {
		if r.Status != "statusValid" {
			t.Errorf("%s: %s %s: %s %s %v", filepath.Base(r.Filename), r.Kind, r.Name, r.Status, r.Msg, r.ValidationErrors)
		}
	}
}

// TestBadInputsRejectedByKubeconform runs kubeconform over the function's
// bad-input corpus (fn/testdata/bad, and the generator's golden error cases)
// for every mistake a schema can see:
// unknown fields, wrong types, bad enums, patterns and ranges. Each must be
// rejected at the field the function names. The rest of the corpus (cross-
// object rules, policy contents, YAML-level attacks) only iambind-fn catches.
func TestBadInputsRejectedByKubeconform(t *testing.T) {
	// file → the JSON pointer kubeconform must name, or a phrase of its message
	// ("" = rejected as a whole).
	cases := map[string]string{
		"fn/testdata/bad/account-id-letters.yaml":         "/spec/accountID",
		"fn/testdata/bad/account-id-short.yaml":           "/spec/accountID",
		"fn/testdata/bad/account-id-unquoted.yaml":        "/spec/accountID",
		"fn/testdata/bad/binding-name-uppercase.yaml":     "/metadata/name",
		"fn/testdata/bad/binding-namespace-invalid.yaml":  "/metadata/namespace",
		"fn/testdata/bad/binding-unknown-field.yaml":      "/spec/role",
		"fn/testdata/bad/binding-unknown-top-field.yaml":  "/spec",
		"fn/testdata/bad/cluster-unknown-field.yaml":      "/spec",
		"fn/testdata/bad/inline-bad-name.yaml":            "invalid propertyName 'bad name'", // reported at the root by kubeconform
		"fn/testdata/bad/inline-not-object.yaml":          "/spec/policies/inline/p",
		"fn/testdata/bad/issuer-fragment.yaml":            "/spec/issuer",
		"fn/testdata/bad/issuer-http.yaml":                "/spec/issuer",
		"fn/testdata/bad/issuer-query.yaml":               "/spec/issuer",
		"fn/testdata/bad/issuer-trailing-slash.yaml":      "/spec/issuer",
		"fn/testdata/bad/partition-unknown.yaml":          "/spec/partition",
		"fn/testdata/bad/role-name-injection.yaml":        "/spec/role/name",
		"fn/testdata/bad/role-name-shell.yaml":            "/spec/role/name",
		"fn/testdata/bad/role-name-too-long.yaml":         "/spec/role/name",
		"fn/testdata/bad/role-path-no-slash.yaml":         "/spec/rolePath",
		"fn/testdata/bad/sa-name-injection.yaml":          "/spec/serviceAccounts/0/name",
		"fn/testdata/bad/sa-name-newline.yaml":            "/spec/serviceAccounts/0/name",
		"fn/testdata/bad/session-too-short.yaml":          "/spec/role/maxSessionDuration",
		"fn/testdata/bad/token-expiration-range.yaml":     "/spec/tokenExpiration",
		"fn/testdata/bad/wrong-type-create-sa.yaml":       "/spec/createServiceAccounts",
		"fn/testdata/bad/wrong-type-serviceaccounts.yaml": "/spec/serviceAccounts",
		"fn/testdata/bad/wrong-type-session.yaml":         "/spec/role/maxSessionDuration",
		"fn/testdata/bad/wrong-type-tags.yaml":            "/spec/role/tags/team",
		"fn/testdata/bad/unsupported-kind.yaml":           "", // no schema for an unknown iambind kind: an error, not a skip
		"fn/testdata/bad/unsupported-version.yaml":        "",
		"fn/testdata/bad/guardrails-misspelt-rule.yaml":   "/spec",
		"fn/testdata/bad/wellknown-unknown-name.yaml":     "/spec/policies/wellKnown/0/name",
		"fn/testdata/bad/wellknown-bare-name.yaml":        "/spec/policies/wellKnown/0",
		// The generator's own golden error cases.
		"generator/testdata/golden/error-unknown-field/binding.yaml": "/spec/role",
		"generator/testdata/golden/error-wrong-type/binding.yaml":    "/spec/serviceAccounts/1/name",
	}
	dir := t.TempDir()
	var files []string
	for name := range cases {
		data, err := os.ReadFile(filepath.Join(repoRoot, name))
		if err != nil {
			t.Fatal(err)
		}
		ours, _ := iambindDocs(t, data)
		if len(ours) == 0 {
			t.Fatalf("%s: no iambind resources", name)
		}
		files = append(files, writeDocs(t, dir, strings.ReplaceAll(name, "/", "_"), ours))
	}
	rejected := map[string][]string{}
	for _, r := range runKubeconform(t, nil, files...) {
		name := strings.ReplaceAll(filepath.Base(r.Filename), "_", "/")
		if r.Status == "statusValid" {
			continue
		}
		detail := r.Msg
		for _, e := range r.ValidationErrors {
			detail += " | " + e.Path + ": " + e.Msg
		}
		rejected[name] = append(rejected[name], detail)
	}
	for name, pointer := range cases { // pointer: or phrase
		got := strings.Join(rejected[name], "\n")
		switch {
		case got == "":
			t.Errorf("%s: kubeconform accepted it", name)
		case strings.HasPrefix(pointer, "/") && !strings.Contains(got, "'"+pointer+"'"):
			t.Errorf("%s: rejected, but not at %s:\n%s", name, pointer, got)
		case !strings.HasPrefix(pointer, "/") && !strings.Contains(got, pointer):
			t.Errorf("%s: rejected, but without %q:\n%s", name, pointer, got)
		}
	}
}

func writeDocs(t *testing.T, dir, name string, nodes []*yaml.RNode) string {
	t.Helper()
	var buf bytes.Buffer
	if err := (&kio.ByteWriter{Writer: &buf}).Write(nodes); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func rel(path string) string {
	if r, err := filepath.Rel(repoRoot, path); err == nil {
		return r
	}
	return path
}
