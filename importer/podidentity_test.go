package importer_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"

	"github.com/iambind/iambind/internal/eksfake"
	"github.com/iambind/iambind/internal/mototest"
)

const podIdentityTrust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"pods.eks.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`

// TestImportPodIdentity: the associations of an EKS cluster (the EKS API
// model server) import as mode podIdentity, or both where the role also
// trusts the cluster's OIDC issuer; the roles' trust (AWS's documented one,
// without conditions) is tightened by iambind's source and session-tag
// conditions, and adoption converges.
func TestImportPodIdentity(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	srv := mototest.Start(t)
	srv.SetEnv(t)
	admin := adminIAM(srv)
	createProviders(t, admin, issuer1)
	createRole(t, admin, roleSpec{name: "pi-orders", trust: podIdentityTrust, managed: []string{s3ReadOnly}})
	both := strings.Replace(podIdentityTrust, `"Statement":[`, `"Statement":[`+oidcStatement(issuer1, eq(issuer1, "cache", "cache"))+",", 1)
	createRole(t, admin, roleSpec{name: "both-cache", trust: both})

	fake := eksfake.Start(t, account, mototest.Region, "prod-eks")
	client := eks.New(eks.Options{Region: mototest.Region, BaseEndpoint: aws.String(fake.URL),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
	for _, a := range []struct{ ns, sa, role string }{{"shop", "orders", "pi-orders"}, {"cache", "cache", "both-cache"}} {
		if _, err := client.CreatePodIdentityAssociation(context.Background(), &eks.CreatePodIdentityAssociationInput{
			ClusterName: aws.String("prod-eks"), Namespace: aws.String(a.ns), ServiceAccount: aws.String(a.sa),
			RoleArn: aws.String(roleARN(a.role, "/"))}); err != nil {
			t.Fatal(err)
		}
	}

	out := filepath.Join(t.TempDir(), "imported")
	r := iambind(t, "", "import", "--eks-cluster-name", "prod=prod-eks", "--eks-endpoint-url", fake.URL, "--out", out, "--fn-path", fnBinary(), "-o", "json")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	for _, role := range []string{"pi-orders", "both-cache"} {
		if class, reason := rep.class(role); class != "tightened" || !strings.Contains(reason, "source account and cluster conditions") {
			t.Errorf("role %s: %s (%s)", role, class, reason)
		}
	}
	got := files(t, out)
	if b := got["shop/pi-orders.yaml"]; !strings.Contains(b, "mode: podIdentity") {
		t.Errorf("pi-orders binding:\n%s", b)
	}
	if b := got["cache/both-cache.yaml"]; !strings.Contains(b, "mode: both") {
		t.Errorf("both-cache binding:\n%s", b)
	}
	if c := got["clusters.yaml"]; !strings.Contains(c, "eksClusterName: prod-eks") || !strings.Contains(c, "name: prod\n") {
		t.Errorf("clusters.yaml:\n%s", c)
	}

	rendered := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(rendered, []byte(kustomize(t, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := iambind(t, "", "apply", "--adopt", "-f", rendered, "--eks-endpoint-url", fake.URL); r.code != 0 {
		t.Fatalf("apply --adopt: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if calls := fake.Calls(); calls["CreatePodIdentityAssociation"] != 2 || calls["DeletePodIdentityAssociation"] != 0 {
		t.Errorf("EKS calls: %v (the two associations made above only, none deleted)", calls)
	}
	if r := iambind(t, "", "plan", "--detailed-exitcode", "-f", rendered, "--eks-endpoint-url", fake.URL); r.code != 0 {
		t.Fatalf("plan after adoption: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
