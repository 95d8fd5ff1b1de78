package reconcile

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/clitest"
)

const migrateClusterYAML = `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata:
  name: prod-usw2
spec:
  accountID: "111122223333"   # prod account
  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
  rolePath: /iambind/
`

const migrateBindings = `# shop's workload identities
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: orders
  namespace: shop
spec:
  serviceAccounts:
    - name: orders
  policies:
    managed: [AmazonS3ReadOnlyAccess]
---
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: billing
  namespace: shop
spec:
  mode: irsa   # the default, spelled out
  clusters: [prod-usw2]
`

func migrateDir(t *testing.T) string {
	dir := t.TempDir()
	for name, text := range map[string]string{"cluster.yaml": migrateClusterYAML, "bindings.yaml": migrateBindings} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func runCLI(args ...string) runResult {
	var out, errb bytes.Buffer
	code := clitest.Run(context.Background(), args, strings.NewReader(""), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

// renderDir runs the generator over every file of dir, as kustomize would.
func renderDir(t *testing.T, dir string) string {
	t.Helper()
	var docs []string
	for _, name := range []string{"cluster.yaml", "bindings.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(b))
	}
	return render(t, docs...)
}

func readDir(t *testing.T, dir string) string {
	t.Helper()
	var s string
	for _, name := range []string{"cluster.yaml", "bindings.yaml"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		s += string(b)
	}
	return s
}

// TestMigrate: the printed diffs apply with patch(1) and equal --write; step
// 1 renders mode both (annotation kept, associations planned), step 2 mode
// podIdentity (annotation gone); comments and layout stay.
func TestMigrate(t *testing.T) {
	dir := migrateDir(t)
	r := runCLI("migrate", "-f", dir)
	if r.code != 1 || !strings.Contains(r.stderr, "IdentityCluster prod-usw2 has no spec.eksClusterName: pass --eks-cluster-name prod-usw2=") {
		t.Fatalf("without the EKS name: exit %d\n%s", r.code, r.stderr)
	}
	if readDir(t, dir) != migrateClusterYAML+migrateBindings {
		t.Fatal("a refused migrate changed files")
	}

	r = runCLI("migrate", "-f", dir, "--eks-cluster-name", "prod-usw2=prod")
	if r.code != 0 {
		t.Fatalf("migrate: %d\n%s", r.code, r.stderr)
	}
	step1, step2, ok := strings.Cut(r.stdout, "# Step 2 of 2")
	if !ok || !strings.HasPrefix(step1, "# Step 1 of 2: mode both") {
		t.Fatalf("migrate output:\n%s", r.stdout)
	}
	for _, want := range []string{"+  mode: both\n", "-  mode: irsa   # the default, spelled out\n+  mode: both # the default, spelled out\n",
		"+  region: us-west-2\n", "+  eksClusterName: prod\n"} {
		if !strings.Contains(step1, want) {
			t.Errorf("step 1 diff lacks %q:\n%s", want, step1)
		}
	}
	if strings.Contains(step1, "\n-") && strings.Count(step1, "\n-") != 1+2 { // one changed line, two "---" headers
		t.Errorf("step 1 removes more than the mode line:\n%s", step1)
	}

	// The printed step 1 applies with patch -p0 onto a copy, and equals --write.
	patched := migrateDir(t)
	diff := strings.ReplaceAll(step1, dir+"/", "") // patch(1) takes relative names only
	cmd := exec.Command("patch", "-p0", "--silent")
	cmd.Dir = patched
	cmd.Stdin = strings.NewReader(diff)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("patch -p0 step 1: %v\n%s\n%s", err, out, diff)
	}
	if r := runCLI("migrate", "-f", dir, "--eks-cluster-name", "prod-usw2=prod", "--write"); r.code != 0 || !strings.Contains(r.stdout, "wrote step 1") {
		t.Fatalf("--write: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if readDir(t, dir) != readDir(t, patched) {
		t.Fatalf("--write and the printed diff differ:\n%s\n---\n%s", readDir(t, dir), readDir(t, patched))
	}
	if !strings.Contains(readDir(t, dir), `accountID: "111122223333"   # prod account`) || !strings.Contains(readDir(t, dir), "# shop's workload identities") {
		t.Error("migrate lost comments")
	}
	rendered := renderDir(t, dir)
	in := readString(t, rendered)
	if len(in.Roles) != 2 || len(in.ServiceAccounts) != 2 {
		t.Fatalf("step 1 render: %d roles, %d annotated ServiceAccounts", len(in.Roles), len(in.ServiceAccounts))
	}
	for _, role := range in.Roles {
		if len(role.PodIdentityAssociations) != 1 || len(role.OIDCProviders) != 1 {
			t.Errorf("step 1 role %s: %d associations, %d OIDC providers", role.Name, len(role.PodIdentityAssociations), len(role.OIDCProviders))
		}
	}

	// Step 2 from the step-1 files: what was printed as step 2.
	r = runCLI("migrate", "-f", dir)
	if r.code != 0 || strings.Contains(r.stdout, "Step 1 of 2") || !strings.Contains(r.stdout, "+  mode: podIdentity\n") {
		t.Fatalf("migrate after step 1: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if got, want := hunks(r.stdout), hunks("# Step 2 of 2"+step2); got != want {
		t.Errorf("step 2 now differs from step 2 as printed before:\n%s\n---\n%s", got, want)
	}
	if r := runCLI("migrate", "-f", dir, "--write"); r.code != 0 || !strings.Contains(r.stdout, "wrote step 2") {
		t.Fatalf("--write step 2: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	rendered = renderDir(t, dir)
	in = readString(t, rendered)
	if len(in.ServiceAccounts) != 0 || strings.Contains(rendered, generator.AnnotationRoleARN) {
		t.Errorf("step 2 render still annotates ServiceAccounts:\n%s", rendered)
	}
	for _, role := range in.Roles {
		if len(role.PodIdentityAssociations) != 1 || len(role.OIDCProviders) != 0 {
			t.Errorf("step 2 role %s: %d associations, %d OIDC providers", role.Name, len(role.PodIdentityAssociations), len(role.OIDCProviders))
		}
	}
	if r := runCLI("migrate", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "nothing to migrate") {
		t.Fatalf("migrate when done: %d\n%s", r.code, r.stdout)
	}
}

// hunks is the diff lines of a migrate output (no comments, no file headers).
func hunks(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, "#") || strings.HasPrefix(l, "---") || strings.HasPrefix(l, "+++") {
			continue
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

func TestMigrateRefusesWhatPodIdentityCannotDo(t *testing.T) {
	dir := migrateDir(t)
	wild := migrateBindings + `---
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: etl
  namespace: shop
spec:
  allowWildcardSubjects: true
  serviceAccounts: [{name: "etl-*"}]
`
	if err := os.WriteFile(filepath.Join(dir, "bindings.yaml"), []byte(wild), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI("migrate", "-f", dir, "--eks-cluster-name", "prod-usw2=prod", "--write")
	if r.code != 1 || !strings.Contains(r.stderr, `IdentityBinding shop/etl has the wildcard subject "etl-*"`) {
		t.Fatalf("wildcard: %d\n%s", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "bindings.yaml")); string(b) != wild {
		t.Error("a refused migrate wrote")
	}
	if r := runCLI("migrate", "-f", filepath.Join(dir, "bindings.yaml"), "--eks-cluster-name", "prod-usw2=prod"); r.code != 1 || !strings.Contains(r.stderr, "not in the input") && !strings.Contains(r.stderr, "names no spec.clusters") {
		t.Fatalf("without the cluster's file: %d\n%s", r.code, r.stderr)
	}
}
