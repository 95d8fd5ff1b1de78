package importer_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"sigs.k8s.io/yaml"

	"github.com/iambind/iambind/internal/faultproxy"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/change"
)

const s3ReadOnly = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

// The roles of the brownfield, made the ways the estate's tools make them.
const (
	roleEksctl    = "eksctl-prod-addon-iamserviceacco-Role1-1A2B3C4D5E6F"
	roleTerraform = "reports-irsa"
	roleScript    = "billing-exporter"
	roleTwoIssuer = "shared-cache"
	roleWI        = "payments-ledger"
	roleIRSA      = "irsa-s3-reader"
	roleExtraAWS  = "legacy-ci"
	roleShared    = "shop-orders-legacy" // trusts shop/orders too: the annotated role keeps it
)

// brownfieldIAM creates the roles and providers in moto.
func brownfieldIAM(t *testing.T, c *awsiam.Client) {
	t.Helper()
	createProviders(t, c, issuer1, issuer2)
	h1 := hostPath(issuer1)
	// eksctl create iamserviceaccount: StringEquals aud + sub, an AWS managed policy, no description.
	createRole(t, c, roleSpec{name: roleEksctl, trust: trust(oidcStatement(issuer1, eq(issuer1, "shop", "orders"))), managed: []string{s3ReadOnly},
		tags: map[string]string{"alpha.eksctl.io/cluster-name": "prod", "alpha.eksctl.io/iamserviceaccount-name": "shop/orders"}})
	// terraform-aws-modules iam-role-for-service-accounts-eks with
	// assume_role_condition_test = "StringLike": both conditions StringLike,
	// wildcard subjects in two namespaces.
	createRole(t, c, roleSpec{name: roleTerraform, path: "/tf/", description: "IRSA role for reports",
		trust:   trust(oidcStatement(issuer1, `{"StringLike":{"`+h1+`:sub":["system:serviceaccount:reports:*","system:serviceaccount:analytics:*"],"`+h1+`:aud":"sts.amazonaws.com"}}`)),
		managed: []string{s3ReadOnly}, tags: map[string]string{"terraform": "true"}})
	// A script around aws iam create-role: one statement per ServiceAccount,
	// an inline policy, a boundary, a longer session.
	boundary := "arn:aws:iam::" + account + ":policy/team-boundary"
	if _, err := c.CreatePolicy(context.Background(), &awsiam.CreatePolicyInput{PolicyName: aws.String("team-boundary"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	createRole(t, c, roleSpec{name: roleScript, description: "billing exporter (created by setup.sh)", maxSession: 7200, boundary: boundary,
		trust:  trust(oidcStatement(issuer1, eq(issuer1, "billing", "exporter")), oidcStatement(issuer1, eq(issuer1, "billing", "exporter-backfill"))),
		inline: map[string]string{"read-bucket": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::billing/*"}]}`},
		tags:   map[string]string{"team": "billing"}})
	// Trusted by two clusters' issuers.
	createRole(t, c, roleSpec{name: roleTwoIssuer, trust: trust(oidcStatement(issuer1, eq(issuer1, "cache", "cache")), oidcStatement(issuer2, eq(issuer2, "cache", "cache")))})
	// Identity Manager writes spec.aws.assumeRolePolicy verbatim.
	createRole(t, c, roleSpec{name: roleWI, path: "/", trust: wiTrust, managed: []string{s3ReadOnly},
		inline: map[string]string{"ledger": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}`}})
	// irsa-manager: one statement per namespace, sub only, no aud.
	sub := func(ns string) string {
		return oidcStatement(issuer1, `{"StringEquals":{"`+h1+`:sub":"system:serviceaccount:`+ns+`:s3-reader"}}`)
	}
	createRole(t, c, roleSpec{name: roleIRSA, trust: trust(sub("apps"), sub("batch")), managed: []string{s3ReadOnly}})
	// A second role trusting shop/orders (named by a WorkloadIdentity).
	createRole(t, c, roleSpec{name: roleShared, trust: trust(oidcStatement(issuer1, eq(issuer1, "shop", "orders")))})
	// An extra AWS principal: must be skipped.
	createRole(t, c, roleSpec{name: roleExtraAWS, trust: trust(oidcStatement(issuer1, eq(issuer1, "ci", "runner")),
		`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::`+account+`:root"},"Action":"sts:AssumeRole"}`)})
}

var wiTrust = trust(oidcStatement(issuer1, eq(issuer1, "payments", "ledger")))

func roleARN(name, path string) string { return "arn:aws:iam::" + account + ":role" + path + name }

// brownfieldObjects are the cluster's objects.
func brownfieldObjects() string {
	wi, _ := json.Marshal(wiTrust)
	return `
apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: reports}
---
apiVersion: v1
kind: Namespace
metadata: {name: billing}
---
apiVersion: v1
kind: Namespace
metadata: {name: cache}
---
apiVersion: v1
kind: Namespace
metadata: {name: payments}
---
apiVersion: v1
kind: Namespace
metadata: {name: apps}
---
apiVersion: v1
kind: Namespace
metadata: {name: ci}
---
apiVersion: v1
kind: Namespace
metadata: {name: legacy}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: orders
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleEksctl, "/") + `
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: reporter
  namespace: reports
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleTerraform, "/tf/") + `
    eks.amazonaws.com/sts-regional-endpoints: "true"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: exporter
  namespace: billing
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleScript, "/") + `
    eks.amazonaws.com/token-expiration: "3600"
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: cache
  namespace: cache
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleTwoIssuer, "/") + `
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: runner
  namespace: ci
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleExtraAWS, "/") + `
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: intruder
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN(roleEksctl, "/") + `
    eks.amazonaws.com/audience: other
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: ghost
  namespace: shop
  annotations:
    eks.amazonaws.com/role-arn: ` + roleARN("shop-ghost", "/") + `
---
apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata:
  name: ledger
  namespace: payments
spec:
  name: ` + roleWI + `
  provider: AWS
  aws:
    assumeRolePolicy: ` + string(wi) + `
    policies: [` + s3ReadOnly + `]
    inlinePolicies:
      ledger: '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"dynamodb:*","Resource":"*"}]}'
    serviceAccounts:
      - name: ledger
        action: Update
---
apiVersion: identity-manager.io/v1alpha1
kind: WorkloadIdentity
metadata:
  name: orders-legacy
  namespace: shop
spec:
  name: ` + roleShared + `
  provider: AWS
  aws:
    assumeRolePolicy: "{}"
    serviceAccounts: [{name: orders}]
---
apiVersion: irsa-manager.kkb0318.github.io/v1alpha1
kind: IRSA
metadata:
  name: s3-reader
  namespace: apps
spec:
  cleanup: false
  serviceAccount:
    name: s3-reader
    namespaces: [apps, batch]
  iamRole:
    name: ` + roleIRSA + `
  iamPolicies: [AmazonS3ReadOnlyAccess]
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: default, namespace: legacy}
---
apiVersion: v1
kind: Pod
metadata:
  name: old-worker
  namespace: legacy
  annotations:
    iam.amazonaws.com/role: legacy-worker
spec:
  serviceAccountName: default
  containers: [{name: app, image: busybox}]
`
}

func applyObjects(t *testing.T, ks *kubetest.Server, stream string) {
	t.Helper()
	a, err := kubetest.NewApplier(ks.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var crds []string
	for _, f := range []string{"identity-manager.io_workloadidentities.yaml", "irsa-manager.kkb0318.github.io_irsas.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", "crds", f))
		if err != nil {
			t.Fatal(err)
		}
		crds = append(crds, string(b))
	}
	objs, err := kubetest.Decode([]byte(strings.Join(crds, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.CreateAll(ctx, objs, false); err != nil {
		t.Fatal(err)
	}
	objs, err = kubetest.Decode([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		eventually(t, "creating "+o.GetKind()+" "+o.GetName(), func() error {
			_, err := a.Create(ctx, o, false)
			return err
		})
	}
}

// TestImportBrownfield: a brownfield in moto and a real API server, made
// the ways eksctl, Terraform, a script, Identity Manager and irsa-manager
// make it; import, render with the real kustomize, adopt, and prove that
// adoption wrote only tags (and the tightened trust), counted at a proxy.
func TestImportBrownfield(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test")
	}
	srv := mototest.Start(t)
	srv.SetEnv(t)
	admin := adminIAM(srv)
	brownfieldIAM(t, admin)
	ks := startKube(t)
	applyObjects(t, ks, brownfieldObjects())
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := ks.WriteKubeconfig(kubeconfig); err != nil {
		t.Fatal(err)
	}
	all := []string{roleEksctl, roleTerraform, roleScript, roleTwoIssuer, roleWI, roleIRSA, roleExtraAWS, roleShared}
	before := snapshot(t, admin, all...)

	out := filepath.Join(t.TempDir(), "imported")
	r := iambind(t, "", "import", "--from-cluster", "--kubeconfig", kubeconfig, "--out", out, "--fn-path", fnBinary(), "-o", "json")
	if r.code != 0 {
		t.Fatalf("import: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rep := decodeReport(t, r.stdout)
	want := map[string]string{
		roleEksctl: "exact", roleTerraform: "exact", roleScript: "exact", roleTwoIssuer: "exact", roleWI: "exact",
		roleIRSA: "tightened", roleExtraAWS: "skipped", "shop-ghost": "skipped", roleShared: "skipped",
	}
	for role, class := range want {
		if got, reason := rep.class(role); got != class {
			t.Errorf("role %s: class %q (%s), want %s", role, got, reason, class)
		}
	}
	if _, reason := rep.class(roleIRSA); reason != "trust tightened: audience condition added" {
		t.Errorf("irsa-manager role: reason %q", reason)
	}
	if _, reason := rep.class(roleShared); !strings.Contains(reason, "ServiceAccount shop/orders is also trusted by role "+roleEksctl) {
		t.Errorf("second role of shop/orders: reason %q", reason)
	}
	if _, reason := rep.class(roleExtraAWS); !strings.Contains(reason, "principal AWS arn:aws:iam::"+account+":root") {
		t.Errorf("extra AWS principal: reason %q", reason)
	}
	problems := map[string]string{}
	for _, f := range rep.Findings {
		problems[f.Object] = f.Problem
	}
	if problems["ServiceAccount shop/ghost"] != "role-missing" || problems["Pod legacy/old-worker"] != "node-role" || problems["ServiceAccount shop/intruder"] != "not-trusted" {
		t.Errorf("findings: %+v", rep.Findings)
	}
	if c := rep.Summary["irsa"]; c.Tightened != 1 {
		t.Errorf("summary irsa: %+v", c)
	}
	if c := rep.Summary["serviceAccount"]; c.Exact != 4 || c.Skipped != 2 || c.SkipReasons["other principal"] != 1 || c.SkipReasons["missing"] != 1 {
		t.Errorf("summary serviceAccount: %+v", c)
	}
	if !slices.Equal(rep.Clusters, []string{"eks-eu-west-1-01234567", "eks-us-west-2-exampled"}) {
		t.Errorf("clusters: %v", rep.Clusters)
	}

	// DIR holds only YAML: clusters, bindings (one per file under its
	// namespace), the kustomization, and the skipped roles as comments.
	got := files(t, out)
	wantFiles := []string{"apps/irsa-s3-reader.yaml", "billing/billing-exporter.yaml", "cache/shared-cache.yaml", "clusters.yaml",
		"kustomization.yaml", "payments/payments-ledger.yaml", "reports/reports-irsa.yaml",
		"shop/eksctl-prod-addon-iamserviceacco-role1-1a2b3c4d5e6f.yaml", "skipped.yaml"}
	if !slices.Equal(keys(got), wantFiles) {
		t.Errorf("files: %v\nwant %v", keys(got), wantFiles)
	}
	if s := got["skipped.yaml"]; !strings.Contains(s, "# Role "+roleExtraAWS+": skipped") || !strings.Contains(s, "#       name: "+roleExtraAWS) {
		t.Errorf("skipped.yaml does not name %s with its closest binding:\n%s", roleExtraAWS, s)
	}

	// Byte-stable: a second import gives the same files.
	out2 := filepath.Join(t.TempDir(), "again")
	if r := iambind(t, "", "import", "--from-cluster", "--kubeconfig", kubeconfig, "--out", out2, "--fn-path", fnBinary()); r.code != 0 {
		t.Fatalf("second import: %s", r.stderr)
	}
	if again := files(t, out2); !mapsEqual(got, again) {
		t.Error("a second import wrote different files")
	}

	if os.Getenv("IMPORT_DUMP") != "" {
		for _, k := range keys(got) {
			t.Logf("=== %s\n%s", k, got[k])
		}
		t.Log(r.stdout)
	}
	// --namespace narrows the cluster's objects to one namespace.
	outNS := filepath.Join(t.TempDir(), "shop-only")
	r = iambind(t, "", "import", "--from-cluster", "--kubeconfig", kubeconfig, "--namespace", "shop", "--out", outNS, "-o", "json")
	if r.code != 0 {
		t.Fatalf("import --namespace shop: exit %d\n%s", r.code, r.stderr)
	}
	if nsRep := decodeReport(t, r.stdout); len(nsRep.Roles) != 3 {
		t.Errorf("import --namespace shop: roles %+v, want the eksctl role, the shared one and the missing one", nsRep.Roles)
	}

	rendered := kustomize(t, out)
	renderedFile := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(renderedFile, []byte(rendered), 0o644); err != nil {
		t.Fatal(err)
	}
	checkServiceAccounts(t, rendered)

	// plan --adopt: tags only, and the trust of the tightened role.
	r = iambind(t, "", "plan", "--adopt", "-f", renderedFile, "-o", "json")
	if r.code != 0 {
		t.Fatalf("plan --adopt: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var plan struct {
		Roles []struct {
			Name, Action string
			Changes      []struct{ Field string }
			Calls        []struct{ Op string }
		}
		OIDCProviders []struct{ Action string } `json:"oidcProviders"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &plan); err != nil {
		t.Fatal(err)
	}
	if len(plan.Roles) != 6 {
		t.Errorf("plan has %d roles, want the 6 imported", len(plan.Roles))
	}
	for _, p := range plan.OIDCProviders {
		if p.Action != "no-change" {
			t.Errorf("plan changes an OIDC provider: %+v", plan.OIDCProviders)
		}
	}
	for _, role := range plan.Roles {
		var ops []string
		for _, c := range role.Calls {
			ops = append(ops, c.Op)
		}
		for _, c := range role.Changes {
			if !strings.HasPrefix(c.Field, "tags.") && !(role.Name == roleIRSA && c.Field == "trustPolicy") {
				t.Errorf("plan --adopt changes %s of role %s", c.Field, role.Name)
			}
		}
		wantOps := []string{"TagRole"}
		if role.Name == roleIRSA {
			wantOps = append(wantOps, "UpdateAssumeRolePolicy")
		}
		if !slices.Equal(ops, wantOps) {
			t.Errorf("role %s: calls %v, want %v", role.Name, ops, wantOps)
		}
	}

	// apply --adopt through a recording proxy: exactly those writes.
	proxy, err := faultproxy.Start(srv.Endpoint, 1, faultproxy.Rates{})
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Record()
	r = iambind(t, "", "apply", "--adopt", "-f", renderedFile, "--endpoint-url", proxy.URL)
	if r.code != 0 {
		t.Fatalf("apply --adopt: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	writes := map[string]int{}
	for _, req := range proxy.Requests() {
		if req.Action != "" && !isRead(req.Action) {
			writes[req.Action+" "+req.RoleName]++
		}
	}
	wantWrites := map[string]int{"UpdateAssumeRolePolicy " + roleIRSA: 1}
	for _, n := range []string{roleEksctl, roleTerraform, roleScript, roleTwoIssuer, roleWI, roleIRSA} {
		wantWrites["TagRole "+n] = 1
	}
	if !mapsEqualInt(writes, wantWrites) {
		t.Errorf("apply --adopt wrote %v\nwant %v", writes, wantWrites)
	}

	// Read back: everything but tags as before; the trust too, but for the tightened role.
	after := snapshot(t, admin, all...)
	for _, n := range all {
		b, a := before[n], after[n]
		if b.Path != a.Path || b.Description != a.Description || b.MaxSessionDuration != a.MaxSessionDuration ||
			b.PermissionsBoundary != a.PermissionsBoundary || !slices.Equal(b.ManagedPolicyARNs, a.ManagedPolicyARNs) || !mapsEqual(b.InlinePolicies, a.InlinePolicies) {
			t.Errorf("role %s changed:\nbefore %+v\nafter  %+v", n, b, a)
		}
		if n != roleIRSA && b.TrustPolicy != a.TrustPolicy {
			t.Errorf("role %s: trust changed:\n%s\n%s", n, b.TrustPolicy, a.TrustPolicy)
		}
		for k, v := range b.Tags {
			if a.Tags[k] != v {
				t.Errorf("role %s lost tag %s=%s", n, k, v)
			}
		}
	}
	if same, _ := change.SameTrust(after[roleIRSA].TrustPolicy, before[roleIRSA].TrustPolicy); same {
		t.Error("the tightened role's trust did not change")
	}
	if !strings.Contains(after[roleIRSA].TrustPolicy, hostPath(issuer1)+":aud") {
		t.Errorf("tightened trust has no audience condition: %s", after[roleIRSA].TrustPolicy)
	}
	for _, n := range []string{roleExtraAWS, roleShared} {
		if after[n].Tags["iambind.dev/owner"] != "" {
			t.Errorf("the skipped role %s was adopted", n)
		}
	}

	if r := iambind(t, "", "plan", "--detailed-exitcode", "-f", renderedFile); r.code != 0 {
		t.Fatalf("plan --detailed-exitcode after adoption: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func isRead(action string) bool {
	for _, p := range []string{"Get", "List", "Describe"} {
		if strings.HasPrefix(action, p) {
			return true
		}
	}
	return false
}

// checkServiceAccounts: the rendered ServiceAccounts carry the cluster's
// annotations (role ARN, token expiration, regional STS where it was set).
func checkServiceAccounts(t *testing.T, rendered string) {
	t.Helper()
	want := map[string]map[string]string{
		"shop/orders":               {"eks.amazonaws.com/role-arn": roleARN(roleEksctl, "/")},
		"reports/reporter":          nil, // a wildcard subject: no ServiceAccount is generated
		"billing/exporter":          {"eks.amazonaws.com/role-arn": roleARN(roleScript, "/"), "eks.amazonaws.com/token-expiration": "3600"},
		"cache/cache":               {"eks.amazonaws.com/role-arn": roleARN(roleTwoIssuer, "/")},
		"payments/ledger":           {"eks.amazonaws.com/role-arn": roleARN(roleWI, "/")},
		"apps/s3-reader":            {"eks.amazonaws.com/role-arn": roleARN(roleIRSA, "/")},
		"batch/s3-reader":           {"eks.amazonaws.com/role-arn": roleARN(roleIRSA, "/")},
		"billing/exporter-backfill": {"eks.amazonaws.com/role-arn": roleARN(roleScript, "/")},
	}
	got := map[string]map[string]string{}
	for _, doc := range strings.Split(rendered, "\n---\n") {
		var obj struct {
			Kind     string
			Metadata struct {
				Name, Namespace string
				Annotations     map[string]string
			}
		}
		if err := yaml.Unmarshal([]byte(doc), &obj); err != nil || obj.Kind != "ServiceAccount" {
			continue
		}
		got[obj.Metadata.Namespace+"/"+obj.Metadata.Name] = obj.Metadata.Annotations
	}
	for sa, ann := range want {
		if ann == nil {
			if got[sa] != nil {
				t.Errorf("ServiceAccount %s generated for a wildcard subject", sa)
			}
			continue
		}
		for k, v := range ann {
			if got[sa][k] != v {
				t.Errorf("ServiceAccount %s: %s = %q, want %q", sa, k, got[sa][k], v)
			}
		}
		if _, ok := got[sa]["eks.amazonaws.com/audience"]; ok {
			t.Errorf("ServiceAccount %s has an audience annotation the cluster's has not", sa)
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func mapsEqualInt(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
