package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/cmdtest"
	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/internal/mototest"
)

// TestEndToEndBinaries builds both binaries and runs the documented loop:
// iambind-fn < input | iambind plan -f -, then apply, then plan again.
func TestEndToEndBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds binaries and needs moto_server")
	}
	srv := mototest.Start(t)
	bins := buildBinaries(t, "-ldflags", "-X github.com/iambind/iambind/internal/buildinfo.Version=v0.0.0-test")
	root, fnBin, cliBin := bins.root, bins.fn, bins.cli
	input := filepath.Join(bins.dir, "in.yaml")
	if err := os.WriteFile(input, []byte(resourceList), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), srv.Env()...)
	pipe := func(args string) (int, string, string) {
		cmd := exec.Command("bash", "-o", "pipefail", "-c", `"$FN" < "$IN" | "$CLI" `+args)
		cmd.Env = append(env, "FN="+fnBin, "CLI="+cliBin, "IN="+input)
		return cmdtest.Run(t, cmd)
	}

	code, out, errOut := pipe("plan --detailed-exitcode -f -")
	if code != 2 || !strings.Contains(out, "+ create role shop-orders-s3") {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	// The pull-request view of the same plan, through the built binary.
	code, out, errOut = pipe("plan --output markdown --detailed-exitcode -f -")
	if code != 2 {
		t.Fatalf("plan --output markdown: exit %d\n%s\n%s", code, out, errOut)
	}
	golden.Check(t, filepath.Join("testdata", "plan-create.md"), out)

	code, out, errOut = pipe("apply -f -")
	if code != 0 || !regexp.MustCompile(`roles: 1 created, 0 updated, 0 deleted, 0 unchanged; IAM calls: \d+ reads, \d+ writes`).MatchString(out) {
		t.Fatalf("apply: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pipe("plan --detailed-exitcode -f -")
	if code != 0 || !strings.Contains(out, "= no change role shop-orders-s3") {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut = pipe("plan --output markdown --detailed-exitcode -f -")
	if code != 0 || !strings.HasPrefix(out, "## iambind plan: no changes\n") || !strings.Contains(out, "| `shop-orders-s3` | `123456789012` | ⚪ no change | — |") {
		t.Fatalf("markdown plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}

	// A refused plan (made for another account) is still a report, exit 1.
	other := exec.Command(cliBin, "plan", "--output", "markdown", "-f", filepath.Join(root, "examples", "kustomize-transformer", "expected.yaml"))
	other.Env = env
	mdOut, err := other.Output()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!strings.HasPrefix(string(mdOut), "## iambind plan: ⛔ refused\n") || !strings.Contains(string(mdOut), "the plan is for account 111122223333") {
		t.Fatalf("refused markdown plan: %v\n%s", err, mdOut)
	}

	code, out, _ = pipe("check -f - --sub system:serviceaccount:shop-batch:orders-worker --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E")
	if code != 0 || !strings.Contains(out, "✓ shop-orders-s3") {
		t.Fatalf("check: exit %d\n%s", code, out)
	}

	v, err := exec.Command(cliBin, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "iambind v0.0.0-test (go1.") {
		t.Fatalf("version: %q %v", v, err)
	}
}

const resourceList = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: iambind.dev/v1alpha1
  kind: IdentityCluster
  metadata:
    name: prod-usw2
  spec:
    accountID: "123456789012"
    region: us-west-2
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
    rolePath: /iambind/
- apiVersion: iambind.dev/v1alpha1
  kind: IdentityBinding
  metadata:
    name: orders-s3
    namespace: shop
  spec:
    serviceAccounts:
    - name: orders
    - name: orders-worker
      namespace: shop-batch
    policies:
      managed: [AmazonS3ReadOnlyAccess]
      inline:
        orders-bucket:
          Version: "2012-10-17"
          Statement:
          - Effect: Allow
            Action: ["s3:GetObject", "s3:PutObject"]
            Resource: arn:aws:s3:::orders-bucket/*
- apiVersion: v1
  kind: ServiceAccount
  metadata:
    name: orders
    namespace: shop
`

// TestVersionFromMakeBuild builds both binaries the way `make build` does and
// checks the version and commit it stamps reach `iambind version` and the
// function's results.
func TestVersionFromMakeBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds binaries with make")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	const rev = "0123456789abcdef0123456789abcdef01234567"
	mk := exec.Command("make", "-s", "build", "BIN="+bin, "VERSION=v1.2.3-test", "REVISION="+rev)
	mk.Dir = root
	if out, err := mk.CombinedOutput(); err != nil {
		t.Fatalf("make build: %v\n%s", err, out)
	}
	v, err := exec.Command(filepath.Join(bin, "iambind"), "version").Output()
	if err != nil || !regexp.MustCompile(`^iambind v1\.2\.3-test \(go1\.[^,]+, \w+/\w+, commit 0123456789ab\)\n$`).Match(v) {
		t.Errorf("iambind version = %q, %v", v, err)
	}
	fnCmd := exec.Command(filepath.Join(bin, "iambind-fn"))
	fnCmd.Stdin = strings.NewReader(resourceList)
	out, err := fnCmd.Output()
	if err != nil || !strings.Contains(string(out), "message: iambind-fn v1.2.3-test (go1.") || !strings.Contains(string(out), "commit 0123456789ab)") {
		t.Errorf("iambind-fn results lack the version: %v\n%s", err, out)
	}
}
