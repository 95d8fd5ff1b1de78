package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// lintBinding has two lint errors and one warning in its inline policy
// (docs/lint.md).
const lintBinding = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: web}
spec:
  policies:
    inline:
      read-s3:
        Version: "2012-10-17"
        Statement:
        - Effect: Allow
          Action: ["s3:ListBucket", "s3:GetObjet", "s4:GetObject"]
          Resource: "*"
        - Effect: Allow
          Action: s3:FrobnicateEveryBucket
          Resource: "*"
`

// lintFindings are the findings of lintBinding, as the function words them
// after the resource.
var lintFindings = []string{
	"spec.policies.inline.read-s3: Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?",
	`spec.policies.inline.read-s3: Statement[0].Action[2]: s4:GetObject: unknown service prefix "s4"; did you mean s3?`,
	"spec.policies.inline.read-s3: Statement[1].Action: s3:FrobnicateEveryBucket is not an action of s3 in iambind's IAM catalogue",
}

// linesWith returns the lines of out that contain s.
func linesWith(out, s string) []string {
	var hits []string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, s) {
			hits = append(hits, l)
		}
	}
	return hits
}

// TestKustomizeLint: a misspelt action fails `kustomize build` with each
// finding on one line of stderr that names the binding, the inline policy,
// the statement and the element; nothing is printed on stdout.
func TestKustomizeLint(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml]\n")
	write(t, dir, "cluster.yaml", execClusterYAML(""))
	write(t, dir, "binding.yaml", lintBinding)
	out, stderr, err := tryKustomizeBuild(t, dir)
	if err == nil {
		t.Fatalf("kustomize build succeeded on a misspelt action:\n%s", out)
	}
	if out != "" {
		t.Errorf("kustomize printed output despite the error:\n%s", out)
	}
	for i, f := range lintFindings {
		severity := "error"
		if i == 2 {
			severity = "warning"
		}
		if hits := linesWith(stderr, "iambind-fn: "+severity+": IdentityBinding web/app: "+f); len(hits) != 1 {
			t.Errorf("want one stderr line with %q, got %d:\n%s", f, len(hits), stderr)
		}
	}

	// Warnings alone do not fail the build.
	write(t, dir, "binding.yaml", strings.Replace(strings.Replace(lintBinding, `"s3:GetObjet", `, "", 1), `, "s4:GetObject"`, "", 1))
	out, stderr, err = tryKustomizeBuild(t, dir)
	if err != nil {
		t.Fatalf("kustomize build with lint warnings only: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, "s3:FrobnicateEveryBucket") {
		t.Errorf("the plan lacks the policy:\n%s", out)
	}
}

// TestKptRenderLint: the same findings through `kpt fn render`: kpt lists
// each result on one line and leaves the package untouched.
func TestKptRenderLint(t *testing.T) {
	kpt := kptBinary(t)
	pkg := t.TempDir()
	for _, f := range []string{"Kptfile", "cluster.yaml"} {
		data, err := os.ReadFile(filepath.Join(repoRoot, "examples", "kpt-package", f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, pkg, f, string(data))
	}
	write(t, pkg, "bindings.yaml", lintBinding)
	before := snapshot(t, pkg)
	_, stderr, err := run(t, repoRoot, kpt, "fn", "render", pkg, "--allow-exec")
	if err == nil {
		t.Fatal("kpt fn render succeeded on a misspelt action")
	}
	for i, f := range lintFindings {
		severity := "[error]"
		if i == 2 {
			severity = "[warning]"
		}
		if hits := linesWith(stderr, severity+" iambind.dev/v1alpha1/IdentityBinding/web/app "+f); len(hits) != 1 {
			t.Errorf("want one result line with %q, got %d:\n%s", f, len(hits), stderr)
		}
	}
	diffSnapshots(t, "failed render", before, snapshot(t, pkg))
}
