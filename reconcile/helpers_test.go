package reconcile

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/kptdev/krm-functions-sdk/go/fn"
)

const (
	testAccount = "123456789012" // moto's default account
	testIssuer  = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	testIssuer2 = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
)

// clusterYAML is an IdentityCluster for the moto account.
func clusterYAML(name, issuer string) string {
	return `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata:
  name: ` + name + `
spec:
  accountID: "` + testAccount + `"
  issuer: ` + issuer + `
  rolePath: /iambind/
`
}

// bindingYAML is a binding with one SA, a managed and an inline policy.
func bindingYAML(ns, name string, clusters ...string) string {
	s := `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
`
	if len(clusters) > 0 {
		s += "  clusters: [" + strings.Join(clusters, ", ") + "]\n"
	}
	s += `  policies:
    managed: [AmazonS3ReadOnlyAccess]
    inline:
      bucket:
        Version: "2012-10-17"
        Statement:
        - Effect: Allow
          Action: ["s3:GetObject", "s3:PutObject"]
          Resource: arn:aws:s3:::` + name + `-bucket/*
`
	return s
}

// render runs the real generator over YAML documents and returns its output
// items as a YAML stream, as kustomize or kpt would have rendered them.
func render(t testing.TB, docs ...string) string {
	t.Helper()
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		t.Fatalf("parsing input: %v", err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("generator errors: %v", out.Problems)
	}
	return strings.TrimRight(out.Items.String(), "\n") + "\n"
}

// readString reads a rendered stream as the CLI would.
func readString(t testing.TB, s string) *Input {
	t.Helper()
	in, err := ReadInputs([]string{"-"}, strings.NewReader(s))
	if err != nil {
		t.Fatalf("ReadInputs: %v", err)
	}
	return in
}

// testRole is a complete desired role.
func testRole(name, owner string) *DesiredRole {
	return &DesiredRole{Source: "test: ConfigMap shop/iambind-" + name, Role: generator.Role{
		Name: name, Path: "/iambind/", ARN: "arn:aws:iam::" + testAccount + ":role/iambind/" + name,
		Description: "Managed by iambind for shop/" + name, MaxSessionDuration: 3600,
		ManagedPolicyARNs: []string{"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"},
		InlinePolicies: map[string]json.RawMessage{
			"bucket": json.RawMessage(`{"Statement":[{"Action":"s3:GetObject","Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}`),
		},
		Tags: map[string]string{generator.TagOwner: owner, generator.TagBinding: "shop/" + name, generator.TagManagedBy: "iambind"},
		TrustPolicy: generator.BuildTrustPolicy(
			[]generator.TrustIssuer{{Partition: "aws", AccountID: testAccount, Issuer: testIssuer}},
			"sts.amazonaws.com", generator.Subjects{Exact: []string{generator.SubjectFor("shop", name)}}),
		OIDCProviders: []generator.OIDCProvider{{URL: testIssuer,
			ARN: generator.OIDCProviderARN("aws", testAccount, testIssuer), Audiences: []string{"sts.amazonaws.com"}}},
	}}
}

// observedFrom is the role as IAM would report it after a perfect apply.
func observedFrom(d *DesiredRole) *ObservedRole {
	o := &ObservedRole{
		Name: d.Name, Path: d.Path, ARN: d.ARN, Description: d.Description,
		MaxSessionDuration: d.MaxSessionDuration, PermissionsBoundary: d.PermissionsBoundary,
		TrustPolicy: TrustDocument(&d.Role), ManagedPolicyARNs: append([]string(nil), d.ManagedPolicyARNs...),
		InlinePolicies: map[string]string{}, Tags: map[string]string{},
	}
	for k, v := range d.InlinePolicies {
		o.InlinePolicies[k] = string(v)
	}
	for k, v := range d.Tags {
		o.Tags[k] = v
	}
	return o
}

func ops(acts []Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = string(a.Op)
		if a.Target != "" {
			out[i] += " " + a.Target
		}
	}
	return out
}
