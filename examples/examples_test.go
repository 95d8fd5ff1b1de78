// Package examples holds runnable example packages; this test drives each one
// through the real tools (standalone kustomize, kpt fn eval, kpt fn render)
// with the built iambind-fn binary.
package examples

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/internal/tooltest"
)

// kustomizeVersion is the standalone kustomize the Makefile installs; kubectl's
// built-in kustomize silently skips exec functions.
const kustomizeVersion = "v5.8.2"

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

// TestMain builds bin/iambind-fn: the examples reference it by a relative path.
func TestMain(m *testing.M) {
	if _, err := tooltest.BuildFunction(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func fnBinary() string { return filepath.Join(repoRoot, "bin", "iambind-fn") }

// execClusterYAML is the IdentityCluster c1 (account 111122223333) that runs
// the built iambind-fn as a kustomize exec transformer, with extraSpec's
// lines added under spec: the tests that build a kustomization in a
// temporary directory share it.
func execClusterYAML(extraSpec string) string {
	return `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata:
  name: c1
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ` + fnBinary() + `
spec:
  accountID: "111122223333"
  issuer: https://oidc.example.com
` + extraSpec
}

// kustomizeBinary returns bin/kustomize, installing the pinned version with
// `go install` when it is missing (as `make tools` does).
func kustomizeBinary(t *testing.T) string {
	return tooltest.Binary(t, "kustomize", "sigs.k8s.io/kustomize/kustomize/v5", kustomizeVersion)
}

// kptBinary requires kpt on PATH: it cannot be installed from the registries here.
func kptBinary(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("kpt")
	if err != nil {
		t.Fatalf("kpt is not on PATH: the kpt tests need kpt 1.0.0-beta (it is on the CI machine image; install it from the kpt releases elsewhere)")
	}
	return path
}

func run(t *testing.T, dir string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// kustomizeBuild runs kustomize build over dir with exec functions on and
// fails the test if it fails.
func kustomizeBuild(t *testing.T, dir string) string {
	t.Helper()
	out, stderr, err := tryKustomizeBuild(t, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, stderr)
	}
	return out
}

// tryKustomizeBuild runs kustomize build over dir with exec functions on.
func tryKustomizeBuild(t *testing.T, dir string) (stdout, stderr string, err error) {
	t.Helper()
	return run(t, repoRoot, kustomizeBinary(t), "build", "--enable-alpha-plugins", "--enable-exec", dir)
}

func parse(t *testing.T, stream string) []*yaml.RNode {
	t.Helper()
	nodes, err := kio.FromBytes([]byte(stream))
	if err != nil {
		t.Fatalf("output is not a YAML stream: %v", err)
	}
	return nodes
}

func find(nodes []*yaml.RNode, kind, namespace, name string) *yaml.RNode {
	for _, n := range nodes {
		if n.GetKind() == kind && n.GetNamespace() == namespace && n.GetName() == name {
			return n
		}
	}
	return nil
}

func TestKustomizeTransformer(t *testing.T) {
	dir := "examples/kustomize-transformer"
	out := kustomizeBuild(t, dir)
	if again := kustomizeBuild(t, dir); again != out {
		t.Fatal("kustomize build is not byte-stable across runs")
	}
	golden.Check(t, filepath.Join(repoRoot, dir, "expected.yaml"), out)

	nodes := parse(t, out)
	counts := map[string]int{}
	for _, n := range nodes {
		counts[n.GetKind()+"/"+n.GetNamespace()+"/"+n.GetName()]++
		if n.GetApiVersion() == "iambind.dev/v1alpha1" {
			t.Errorf("%s %s reached the output: bindings and clusters must be local-config", n.GetKind(), n.GetName())
		}
	}
	for id, c := range counts {
		if c > 1 {
			t.Errorf("%s emitted %d times", id, c)
		}
	}
	helm := find(nodes, "ServiceAccount", "shop", "orders")
	if helm == nil {
		t.Fatal("the Helm ServiceAccount shop/orders is missing")
	}
	if got := helm.GetAnnotations()["eks.amazonaws.com/role-arn"]; got != "arn:aws:iam::111122223333:role/iambind/shop-orders" {
		t.Errorf("Helm SA role-arn = %q", got)
	}
	if helm.GetLabels()["helm.sh/chart"] != "orders-1.4.2" || helm.GetAnnotations()["meta.helm.sh/release-name"] != "orders" {
		t.Error("the Helm SA lost its own labels or annotations")
	}
	if helm.GetLabels()["app.kubernetes.io/managed-by"] != "Helm" {
		t.Error("an annotated-in-place SA must keep its managed-by label")
	}
	if find(nodes, "ServiceAccount", "shop-batch", "orders-worker") == nil {
		t.Error("shop-batch/orders-worker was not created")
	}
	for _, cm := range []string{"shop/iambind-orders", "kube-system/iambind-ebs-csi-controller-sa"} {
		ns, name, _ := strings.Cut(cm, "/")
		n := find(nodes, "ConfigMap", ns, name)
		if n == nil {
			t.Errorf("plan ConfigMap %s missing", cm)
			continue
		}
		if n.GetLabels()["iambind.dev/plan"] != "role" {
			t.Errorf("%s lacks the plan label", cm)
		}
		for k := range n.GetAnnotations() {
			if strings.Contains(k, "config.kubernetes.io/") {
				t.Errorf("%s leaks the internal annotation %s", cm, k)
			}
		}
	}
}

func TestKustomizeMultiCluster(t *testing.T) {
	dir := "examples/multi-cluster"
	out := kustomizeBuild(t, dir)
	golden.Check(t, filepath.Join(repoRoot, dir, "expected.yaml"), out)
	for _, issuer := range []string{"oidc.eks.us-west-2.amazonaws.com", "oidc.eks.eu-west-1.amazonaws.com"} {
		if c := strings.Count(out, "oidc-provider/"+issuer); c < 4 {
			t.Errorf("issuer %s appears in %d trust statements/providers, want both roles trusting it", issuer, c)
		}
	}
}

// TestKustomizeReportsErrors: kustomize shows only the function's stderr, so
// our one-line errors must be there and the build must fail.
func TestKustomizeReportsErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml]\n")
	write(t, dir, "cluster.yaml", execClusterYAML(""))
	write(t, dir, "binding.yaml", `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: web}
spec:
  role: {maxSessionDuration: 60}
`)
	out, stderr, err := tryKustomizeBuild(t, dir)
	if err == nil {
		t.Fatalf("kustomize build succeeded on an invalid binding:\n%s", out)
	}
	if !strings.Contains(stderr, "IdentityBinding web/app: spec.role.maxSessionDuration: 60 is outside 3600..43200") {
		t.Errorf("stderr does not name the resource and field:\n%s", stderr)
	}
	if out != "" {
		t.Errorf("kustomize printed output despite the error:\n%s", out)
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies an example to a scratch directory so tests never edit the repo.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// snapshot reads every file under dir into a map (relative path -> content).
func snapshot(t *testing.T, dir string) map[string]string { return fixture.ReadTree(t, dir) }

func diffSnapshots(t *testing.T, what string, want, got map[string]string) {
	t.Helper()
	for path, w := range want {
		g, ok := got[path]
		switch {
		case !ok:
			t.Errorf("%s: %s was deleted", what, path)
		case g != w:
			t.Errorf("%s: %s changed:\n--- want ---\n%s\n--- got ---\n%s", what, path, w, g)
		}
	}
	for path := range got {
		if _, ok := want[path]; !ok {
			t.Errorf("%s: %s was added:\n%s", what, path, got[path])
		}
	}
}

// TestKptRender renders the committed kpt package (Kptfile pipeline with an
// exec mutator) twice: the committed package is already rendered, so neither
// run may change a byte — this proves both the golden content and the fixed point.
func TestKptRender(t *testing.T) {
	kpt := kptBinary(t)
	src := filepath.Join(repoRoot, "examples", "kpt-package")
	committed := snapshot(t, src)
	for _, f := range []string{"iambind/analytics/reports.yaml", "iambind/analytics/etl.yaml"} {
		if _, ok := committed[f]; !ok {
			t.Fatalf("the committed package lacks %s: run `kpt fn render examples/kpt-package --allow-exec` and review", f)
		}
	}
	pkg := copyDir(t, src)
	for i := 1; i <= 2; i++ {
		// The Kptfile's exec path is resolved against the cwd: run from the repo root.
		_, stderr, err := run(t, repoRoot, kpt, "fn", "render", pkg, "--allow-exec")
		if err != nil {
			t.Fatalf("kpt fn render (run %d): %v\n%s", i, err, stderr)
		}
		diffSnapshots(t, "render run "+string(rune('0'+i)), committed, snapshot(t, pkg))
	}

	// From a package with no generated files, render writes them at their stable paths.
	fresh := copyDir(t, src)
	if err := os.RemoveAll(filepath.Join(fresh, "iambind")); err != nil {
		t.Fatal(err)
	}
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "render", fresh, "--allow-exec"); err != nil {
		t.Fatalf("kpt fn render (fresh): %v\n%s", err, stderr)
	}
	diffSnapshots(t, "fresh render", committed, snapshot(t, fresh))
}

// TestKptRenderRemovedBinding: deleting a binding deletes the files it generated.
func TestKptRenderRemovedBinding(t *testing.T) {
	kpt := kptBinary(t)
	pkg := copyDir(t, filepath.Join(repoRoot, "examples", "kpt-package"))
	bindings, err := os.ReadFile(filepath.Join(pkg, "bindings.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(bindings), "\n---\n") // keep only the reports binding
	write(t, pkg, "bindings.yaml", first+"\n")
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "render", pkg, "--allow-exec"); err != nil {
		t.Fatalf("kpt fn render: %v\n%s", err, stderr)
	}
	got := snapshot(t, pkg)
	if _, ok := got["iambind/analytics/etl.yaml"]; ok {
		t.Error("the removed etl binding's plan file is still there")
	}
	if _, ok := got["iambind/analytics/reports.yaml"]; !ok {
		t.Error("the remaining binding's plan file was deleted")
	}
	if _, ok := got["Kptfile"]; !ok {
		t.Error("the Kptfile was deleted (the function must pass it through)")
	}
}

// TestKptEval runs `kpt fn eval --exec` with the IdentityCluster as --fn-config
// (the cluster is also in the package: the function must accept both copies),
// then again, which must change nothing.
func TestKptEval(t *testing.T) {
	kpt := kptBinary(t)
	pkg := copyDir(t, filepath.Join(repoRoot, "examples", "multi-cluster"))
	before := snapshot(t, pkg)
	args := []string{"fn", "eval", pkg, "--exec", fnBinary(), "--fn-config", filepath.Join(pkg, "cluster-usw2.yaml")}
	if _, stderr, err := run(t, repoRoot, kpt, args...); err != nil {
		t.Fatalf("kpt fn eval: %v\n%s", err, stderr)
	}
	after := snapshot(t, pkg)
	for _, f := range []string{"iambind/payments/payments-api.yaml", "iambind/batch/batch-jobs.yaml"} {
		if _, ok := after[f]; !ok {
			t.Errorf("kpt fn eval did not write %s", f)
		}
	}
	if !strings.Contains(after["iambind/payments/payments-api.yaml"], "kind: ServiceAccount") {
		t.Error("payments-api.yaml holds no generated ServiceAccount")
	}
	if after["bindings.yaml"] == before["bindings.yaml"] || !strings.Contains(after["bindings.yaml"], `config.kubernetes.io/local-config: "true"`) {
		t.Error("bindings were not marked local-config")
	}
	if _, stderr, err := run(t, repoRoot, kpt, args...); err != nil {
		t.Fatalf("kpt fn eval (second run): %v\n%s", err, stderr)
	}
	diffSnapshots(t, "second eval", after, snapshot(t, pkg))

	// Without --fn-config kpt passes an empty ConfigMap; the clusters in the package are used.
	pkg2 := copyDir(t, filepath.Join(repoRoot, "examples", "multi-cluster"))
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "eval", pkg2, "--exec", fnBinary()); err != nil {
		t.Fatalf("kpt fn eval without config: %v\n%s", err, stderr)
	}
	diffSnapshots(t, "eval without fn-config", after, snapshot(t, pkg2))
}

// TestKptEvalError: an invalid binding fails the eval and leaves the package untouched.
func TestKptEvalError(t *testing.T) {
	kpt := kptBinary(t)
	pkg := copyDir(t, filepath.Join(repoRoot, "examples", "multi-cluster"))
	bindings := filepath.Join(pkg, "bindings.yaml")
	data, _ := os.ReadFile(bindings)
	write(t, pkg, "bindings.yaml", strings.Replace(string(data), "clusters: [prod-usw2, prod-euw1]", "clusters: [prod-usw2, prod-nowhere]", 1))
	before := snapshot(t, pkg)
	_, stderr, err := run(t, repoRoot, kpt, "fn", "eval", pkg, "--exec", fnBinary())
	if err == nil {
		t.Fatal("kpt fn eval succeeded with an unknown cluster reference")
	}
	if !strings.Contains(stderr, `spec.clusters[1]`) || !strings.Contains(stderr, `"prod-nowhere" not found`) {
		t.Errorf("the error does not name the field:\n%s", stderr)
	}
	diffSnapshots(t, "failed eval", before, snapshot(t, pkg))
}
