package importer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/internal/mototest"
)

func writeFile(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func annotatedSA(ns, name, role string) string {
	return `apiVersion: v1
kind: ServiceAccount
metadata:
  name: ` + name + `
  namespace: ` + ns + `
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(role, "/") + `
---
`
}

func requireAbsent(t *testing.T, dir string) {
	t.Helper()
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s was written (err %v): a failed import must leave nothing", dir, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(dir))
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".iambind-import-") {
			t.Errorf("temporary directory %s left behind", e.Name())
		}
	}
}

// TestImportBadInput: malformed peer objects, an unreadable cluster and a
// non-empty --out fail with the object and field named, and write nothing.
func TestImportBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	srv := mototest.Start(t)
	srv.SetEnv(t)
	createProviders(t, adminIAM(srv), issuer1)
	createRole(t, adminIAM(srv), roleSpec{name: "orders", trust: trust(oidcStatement(issuer1, eq(issuer1, "shop", "orders")))})

	for _, tc := range []struct {
		name, input string
		want        []string
	}{
		{"IRSA without a role name", `apiVersion: irsa-manager.kkb0318.github.io/v1alpha1
kind: IRSA
metadata: {name: s3, namespace: apps}
spec:
  serviceAccount: {name: s3, namespaces: [apps]}
  iamRole: {}
`, []string{"IRSA apps/s3", "spec.iamRole.name", "is missing"}},
		{"WorkloadIdentity with ServiceAccounts not a list", `apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata: {name: ledger, namespace: payments}
spec:
  provider: AWS
  aws: {assumeRolePolicy: "{}", serviceAccounts: {name: ledger}}
`, []string{"WorkloadIdentity payments/ledger", "spec.aws.serviceAccounts", "is not a list"}},
		{"a role ARN that is not one", `apiVersion: v1
kind: ServiceAccount
metadata:
  name: x
  namespace: shop
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:s3:::bucket"}
`, []string{"ServiceAccount shop/x", "metadata.annotations.eks.amazonaws.com/role-arn", "is not an IAM role ARN"}},
		{"a token expiration out of range", `apiVersion: v1
kind: ServiceAccount
metadata:
  name: x
  namespace: shop
  annotations: {eks.amazonaws.com/role-arn: "` + roleARN("orders", "/") + `", eks.amazonaws.com/token-expiration: "60"}
`, []string{"ServiceAccount shop/x", "eks.amazonaws.com/token-expiration", "600..86400"}},
		{"YAML that does not parse", annotatedSA("shop", "orders", "orders") + "kind: [", []string{"in.yaml: document 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "imported")
			r := iambind(t, "", "import", "-f", writeFile(t, annotatedSA("shop", "orders", "orders")+tc.input), "--out", out)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr does not say %q:\n%s", w, r.stderr)
				}
			}
			requireAbsent(t, out)
		})
	}

	t.Run("unreadable cluster", func(t *testing.T) {
		kubeconfig := writeFile(t, `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`)
		out := filepath.Join(t.TempDir(), "imported")
		r := iambind(t, "", "import", "--from-cluster", "--kubeconfig", kubeconfig, "--out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "reading the cluster: listing serviceaccounts") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		requireAbsent(t, out)
	})

	t.Run("non-empty --out", func(t *testing.T) {
		out := t.TempDir()
		if err := os.WriteFile(filepath.Join(out, "mine.yaml"), []byte("x: 1\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		in := writeFile(t, annotatedSA("shop", "orders", "orders"))
		r := iambind(t, "", "import", "-f", in, "--out", out)
		if r.code != 1 || !strings.Contains(r.stderr, "is not empty") || !strings.Contains(r.stderr, "--force") {
			t.Fatalf("exit %d\n%s", r.code, r.stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "mine.yaml")); err != nil {
			t.Error("the refused import touched --out")
		}
		r = iambind(t, "", "import", "-f", in, "--out", out, "--force")
		if r.code != 0 {
			t.Fatalf("--force: exit %d\n%s", r.code, r.stderr)
		}
		if !strings.Contains(r.stdout, "role orders: exact → shop/orders.yaml") || !strings.Contains(r.stdout, "import: 1 role: 1 imported exactly, 0 tightened, 0 skipped; 0 findings; IAM: ") {
			t.Errorf("text report:\n%s", r.stdout)
		}
		got := files(t, out)
		if _, ok := got["mine.yaml"]; ok || got["shop/orders.yaml"] == "" {
			t.Errorf("--force left %v", keys(got))
		}
	})
}

// TestImportDeniedRead: with IAM authorization on, one role's read is
// denied; that role is skipped with the reason, the rest imported.
func TestImportDeniedRead(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	var keyID, secret string
	srv := mototest.StartWithAuthorization(t, account, func(admin *awsiam.Client) {
		createProviders(t, admin, issuer1)
		createRole(t, admin, roleSpec{name: "orders", trust: trust(oidcStatement(issuer1, eq(issuer1, "shop", "orders")))})
		createRole(t, admin, roleSpec{name: "secret", trust: trust(oidcStatement(issuer1, eq(issuer1, "shop", "secret")))})
		keyID, secret = mototest.CreateUserWithPolicy(t, admin, "importer", `{"Version":"2012-10-17","Statement":[
		  {"Effect":"Allow","Action":["iam:Get*","iam:List*","sts:GetCallerIdentity"],"Resource":"*"},
		  {"Effect":"Deny","Action":"iam:GetRole","Resource":"`+roleARN("secret", "/")+`"}]}`)
	})
	for _, kv := range srv.EnvWith(keyID, secret) {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	out := filepath.Join(t.TempDir(), "imported")
	in := writeFile(t, annotatedSA("shop", "orders", "orders")+annotatedSA("shop", "secret", "secret"))
	r := iambind(t, "", "import", "-f", in, "--out", out, "-o", "json")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	if class, _ := rep.class("orders"); class != "exact" {
		t.Errorf("orders: %s", class)
	}
	if class, reason := rep.class("secret"); class != "skipped" || !strings.Contains(reason, "role could not be read: role secret: GetRole") || !strings.Contains(reason, "StatusCode: 403") {
		// moto wraps its denial one XML level deeper than IAM, so the SDK
		// names it UnknownError; the status and operation are IAM's.
		t.Errorf("secret: %s (%s)", class, reason)
	}
	if c := rep.Summary["serviceAccount"]; c.SkipReasons["unreadable"] != 1 {
		t.Errorf("summary: %+v", c)
	}
	if got := files(t, out); got["shop/orders.yaml"] == "" || got["shop/secret.yaml"] != "" {
		t.Errorf("files: %v", keys(got))
	}
}
