package generator

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A minimal cluster and a binding with no spec at all: every default of docs/api.md
func TestDefaults(t *testing.T) {
	out := generate(t, "", validCluster(""), bindingDoc("", "orders", ""))
	mustNoErrors(t, out)
	role, trust := planOf(t, out.Items, "default", "orders")

	wantARN := "arn:aws:iam::111122223333:role/default-orders"
	checks := []struct {
		what      string
		got, want any
	}{
		{"role name <namespace>-<name> with namespace default", role.Name, "default-orders"},
		{"path /", role.Path, "/"},
		{"partition aws", role.ARN, wantARN},
		{"description", role.Description, "Managed by iambind for default/orders"},
		{"maxSessionDuration", role.MaxSessionDuration, int32(3600)},
		{"no boundary", role.PermissionsBoundary, ""},
		{"managed empty list", role.ManagedPolicyARNs, []string{}},
		{"inline empty map", len(role.InlinePolicies), 0},
		{"owner = cluster metadata.name", role.Tags[TagOwner], "prod"},
		{"binding tag", role.Tags[TagBinding], "default/orders"},
		{"managed-by tag", role.Tags[TagManagedBy], "iambind"},
		{"only iambind tags", len(role.Tags), 3},
		{"oidc provider", role.OIDCProviders, []OIDCProvider{{URL: testIssuer, ARN: "arn:aws:iam::111122223333:oidc-provider/" + testHost, Audiences: []string{"sts.amazonaws.com"}}}},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}
	// serviceAccounts default [{name: metadata.name}] in the binding's namespace, audience sts.amazonaws.com.
	if !strings.Contains(trust, `"`+testHost+`:sub": "system:serviceaccount:default:orders"`) ||
		!strings.Contains(trust, `"`+testHost+`:aud": "sts.amazonaws.com"`) {
		t.Errorf("trust policy should admit default/orders with audience sts.amazonaws.com:\n%s", trust)
	}

	// role.json writes empty lists and maps as [] and {}, never null.
	cm := find(out.Items, "ConfigMap", "default", "iambind-orders")
	roleJSON, _, _ := cm.NestedString("data", PlanKeyRole)
	for _, frag := range []string{`"managedPolicyArns": []`, `"inlinePolicies": {}`} {
		if !strings.Contains(roleJSON, frag) {
			t.Errorf("role.json should contain %s:\n%s", frag, roleJSON)
		}
	}
	if strings.Contains(roleJSON, "permissionsBoundary") {
		t.Errorf("role.json should omit an empty permissionsBoundary")
	}

	// The generated ServiceAccount: role ARN, regional STS "true", binding; no audience, no token expiration.
	sa := find(out.Items, "ServiceAccount", "default", "orders")
	if sa == nil {
		t.Fatalf("createServiceAccounts defaults to true: no ServiceAccount default/orders in\n%s", itemsYAML(out.Items))
	}
	wantAnn := map[string]string{
		AnnotationRoleARN:     wantARN,
		AnnotationRegionalSTS: "true",
		AnnotationBinding:     "default/orders",
	}
	for k, v := range wantAnn {
		if got := sa.GetAnnotation(k); got != v {
			t.Errorf("SA annotation %s = %q, want %q", k, got, v)
		}
	}
	for _, k := range []string{AnnotationAudience, AnnotationTokenExpiration} {
		if _, has := sa.GetAnnotations()[k]; has {
			t.Errorf("SA should not carry %s by default", k)
		}
	}
	if sa.GetLabel(LabelManagedBy) != ManagedByValue {
		t.Errorf("a generated SA is labelled %s=%s", LabelManagedBy, ManagedByValue)
	}
}

func TestSAAnnotationsFollowSpec(t *testing.T) {
	cases := []struct {
		name, spec string
		want       map[string]string // "" = must be absent
	}{
		{"token expiration set", "tokenExpiration: 3600\n", map[string]string{AnnotationTokenExpiration: "3600", AnnotationAudience: ""}},
		{"token expiration 0 leaves the cluster default", "tokenExpiration: 0\n", map[string]string{AnnotationTokenExpiration: ""}},
		{"custom audience", "audience: vault\n", map[string]string{AnnotationAudience: "vault"}},
		{"explicit default audience", "audience: sts.amazonaws.com\n", map[string]string{AnnotationAudience: ""}},
		{"regional STS explicit true", "stsRegionalEndpoints: true\n", map[string]string{AnnotationRegionalSTS: "true"}},
		{"regional STS false is written", "stsRegionalEndpoints: false\n", map[string]string{AnnotationRegionalSTS: "false"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, _, _ := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", c.spec))
			sa := find(out.Items, "ServiceAccount", "shop", "orders")
			for k, v := range c.want {
				got, has := sa.GetAnnotations()[k]
				if v == "" && has {
					t.Errorf("%s should be absent, got %q", k, got)
				} else if v != "" && got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestClusterSettingsFlowIntoRole(t *testing.T) {
	cluster := validCluster("partition: aws-us-gov\nregion: us-gov-west-1\nowner: platform-team\nrolePath: /iambind/\nroleNamePrefix: eks-\npermissionsBoundary: team-boundary\ntags:\n  team: core\n  env: prod\n")
	_, role, _ := mustPlan(t, "", cluster, bindingDoc("shop", "orders", "role:\n  tags:\n    team: orders\n"))
	checks := []struct {
		what      string
		got, want any
	}{
		{"prefix and path", role.ARN, "arn:aws-us-gov:iam::111122223333:role/iambind/eks-shop-orders"},
		{"name", role.Name, "eks-shop-orders"},
		{"path", role.Path, "/iambind/"},
		{"boundary name -> customer policy ARN", role.PermissionsBoundary, "arn:aws-us-gov:iam::111122223333:policy/team-boundary"},
		{"owner", role.Owner(), "platform-team"},
		{"tags merged, binding over cluster", role.Tags, map[string]string{
			"team": "orders", "env": "prod", TagOwner: "platform-team", TagBinding: "shop/orders", TagManagedBy: "iambind"}},
		{"oidc provider partition", role.OIDCProviders[0].ARN, "arn:aws-us-gov:iam::111122223333:oidc-provider/" + testHost},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.what, c.got, c.want)
		}
	}

	// Binding settings override the cluster's.
	_, role, _ = mustPlan(t, "", cluster, bindingDoc("shop", "orders",
		"role:\n  name: custom\n  path: /team/\n  description: Orders service\n  maxSessionDuration: 7200\n  permissionsBoundary: arn:aws-us-gov:iam::111122223333:policy/strict\n"))
	if role.ARN != "arn:aws-us-gov:iam::111122223333:role/team/custom" || role.Description != "Orders service" ||
		role.MaxSessionDuration != 7200 || role.PermissionsBoundary != "arn:aws-us-gov:iam::111122223333:policy/strict" {
		t.Errorf("binding overrides not applied: %+v", role)
	}
}

func TestPoliciesInRole(t *testing.T) {
	spec := `policies:
  managed:
  - service-role/AmazonEBSCSIDriverPolicy
  - arn:aws:iam::111122223333:policy/orders-extra
  - AmazonS3ReadOnlyAccess
  inline:
    zeta: '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}}}]}'
    alpha:
      Version: "2012-10-17"
      Statement:
      - Effect: Allow
        Action: [s3:GetObject]
        Resource: arn:aws:s3:::orders/*
        Condition:
          NumericLessThanEquals: {aws:MultiFactorAuthAge: 3600}
          Bool: {aws:SecureTransport: true}
`
	_, role, _ := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", spec))
	wantManaged := []string{
		"arn:aws:iam::111122223333:policy/orders-extra",
		"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
		"arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy",
	}
	if !reflect.DeepEqual(role.ManagedPolicyARNs, wantManaged) {
		t.Errorf("managedPolicyArns = %v, want sorted %v", role.ManagedPolicyARNs, wantManaged)
	}
	// Both forms become canonical compact JSON with sorted keys; numbers and
	// booleans keep their JSON types.
	want := map[string]string{
		"alpha": `{"Statement":[{"Action":["s3:GetObject"],"Condition":{"Bool":{"aws:SecureTransport":true},"NumericLessThanEquals":{"aws:MultiFactorAuthAge":3600}},"Effect":"Allow","Resource":"arn:aws:s3:::orders/*"}],"Version":"2012-10-17"}`,
		"zeta":  `{"Statement":[{"Action":"sqs:*","Condition":{"NumericLessThan":{"aws:MultiFactorAuthAge":3600}},"Effect":"Allow","Resource":"*"}],"Version":"2012-10-17"}`,
	}
	for name, w := range want {
		var buf bytes.Buffer
		if err := json.Compact(&buf, role.InlinePolicies[name]); err != nil {
			t.Fatal(err)
		}
		if buf.String() != w {
			t.Errorf("inline %s:\n got %s\nwant %s", name, buf.String(), w)
		}
	}
}
