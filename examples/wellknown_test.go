package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const wellKnownBindings = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: velero, namespace: velero}
spec:
  policies:
    wellKnown:
      - name: velero
        bucketARNs: [arn:aws:s3:::orders-backups]
      - name: ebsCSIDriver
`

const badWellKnownBindings = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: web}
spec:
  policies:
    wellKnown:
      - name: externalDns
      - name: velero
      - name: certManager
        hostedZoneARNs: ["*"]
`

// wantWellKnownErrors are the errors of badWellKnownBindings: each must
// reach the user as one line naming the resource and the field.
var wantWellKnownErrors = []string{
	`IdentityBinding web/app: spec.policies.wellKnown[0].name: "externalDns" is not a well-known add-on policy; did you mean externalDNS?`,
	`IdentityBinding web/app: spec.policies.wellKnown[1].bucketARNs: is required`,
	`IdentityBinding web/app: spec.policies.wellKnown[2].hostedZoneARNs[0]: "*" is not a valid Route 53 hosted zone ARN`,
}

func requireOneLineEach(t *testing.T, stderr string, want []string) {
	t.Helper()
	for _, w := range want {
		found := false
		for _, line := range strings.Split(stderr, "\n") {
			found = found || strings.Contains(line, w)
		}
		if !found {
			t.Errorf("no stderr line holds %q:\n%s", w, stderr)
		}
	}
}

// TestWellKnownKustomize renders well-known policies through the real
// kustomize, and shows their errors there one line each.
func TestWellKnownKustomize(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml]\n")
	write(t, dir, "cluster.yaml", execClusterYAML(""))
	write(t, dir, "binding.yaml", wellKnownBindings)
	out := kustomizeBuild(t, dir)
	plan := find(parse(t, out), "ConfigMap", "velero", "iambind-velero")
	if plan == nil {
		t.Fatalf("no plan ConfigMap:\n%s", out)
	}
	role := plan.GetDataMap()["role.json"]
	for _, want := range []string{`"wellKnown-velero"`, `"arn:aws:s3:::orders-backups/*"`, `"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"`} {
		if !strings.Contains(role, want) {
			t.Errorf("role.json lacks %s:\n%s", want, role)
		}
	}

	write(t, dir, "binding.yaml", badWellKnownBindings)
	out, stderr, err := tryKustomizeBuild(t, dir)
	if err == nil {
		t.Fatalf("kustomize build succeeded on invalid wellKnown entries:\n%s", out)
	}
	if out != "" {
		t.Errorf("kustomize printed output despite the errors:\n%s", out)
	}
	requireOneLineEach(t, stderr, wantWellKnownErrors)
}

// TestWellKnownKpt does the same through kpt fn eval, which must leave the
// package untouched on error.
func TestWellKnownKpt(t *testing.T) {
	kpt := kptBinary(t)
	pkg := t.TempDir()
	write(t, pkg, "cluster.yaml", `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: c1}
spec:
  accountID: "111122223333"
  issuer: https://oidc.example.com
`)
	write(t, pkg, "binding.yaml", wellKnownBindings)
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "eval", pkg, "--exec", fnBinary()); err != nil {
		t.Fatalf("kpt fn eval: %v\n%s", err, stderr)
	}
	plan, err := os.ReadFile(filepath.Join(pkg, "iambind", "velero", "velero.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(plan), "wellKnown-velero") || !strings.Contains(string(plan), "AmazonEBSCSIDriverPolicy") {
		t.Errorf("the plan lacks the well-known policies:\n%s", plan)
	}

	bad := t.TempDir()
	write(t, bad, "cluster.yaml", strings.ReplaceAll(string(must(os.ReadFile(filepath.Join(pkg, "cluster.yaml")))), "\r", ""))
	write(t, bad, "binding.yaml", badWellKnownBindings)
	before := snapshot(t, bad)
	_, stderr, err := run(t, repoRoot, kpt, "fn", "eval", bad, "--exec", fnBinary())
	if err == nil {
		t.Fatal("kpt fn eval succeeded on invalid wellKnown entries")
	}
	// kpt prints each result on one line, resource then field.
	var want []string
	for _, w := range wantWellKnownErrors {
		want = append(want, "[error] iambind.dev/v1alpha1/"+strings.Replace(w, "IdentityBinding web/app: ", "IdentityBinding/web/app ", 1))
	}
	requireOneLineEach(t, stderr, want)
	diffSnapshots(t, "failed eval", before, snapshot(t, bad))
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
