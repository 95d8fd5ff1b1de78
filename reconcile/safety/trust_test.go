package safety

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
)

func TestEvaluateTrust(t *testing.T) {
	iss := []generator.TrustIssuer{{Partition: "aws", AccountID: testAccount, Issuer: testIssuer},
		{Partition: "aws", AccountID: testAccount, Issuer: testIssuer2}}
	doc := generator.BuildTrustPolicy(iss, "sts.amazonaws.com", generator.Subjects{
		Exact:     []string{"system:serviceaccount:shop:orders", "system:serviceaccount:batch:worker"},
		Wildcards: []string{"system:serviceaccount:etl:job-*"},
	})
	tests := []struct {
		name   string
		tok    Token
		want   bool
		reason string
	}{
		{name: "exact subject", tok: Token{testIssuer, "system:serviceaccount:shop:orders", "sts.amazonaws.com"}, want: true},
		{name: "second cluster", tok: Token{testIssuer2, "system:serviceaccount:batch:worker", "sts.amazonaws.com"}, want: true},
		{name: "wildcard subject", tok: Token{testIssuer, "system:serviceaccount:etl:job-42", "sts.amazonaws.com"}, want: true},
		{name: "moved namespace", tok: Token{testIssuer, "system:serviceaccount:prod-shop:orders", "sts.amazonaws.com"},
			reason: `sub "system:serviceaccount:prod-shop:orders" does not match StringEquals`},
		{name: "wrong audience", tok: Token{testIssuer, "system:serviceaccount:shop:orders", "other"},
			reason: `aud "other" does not match StringEquals "sts.amazonaws.com"`},
		{name: "other issuer", tok: Token{"https://oidc.example.com", "system:serviceaccount:shop:orders", "sts.amazonaws.com"},
			reason: "not the token issuer oidc.example.com"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, why := EvaluateTrust(doc, tc.tok)
			if ok != tc.want {
				t.Fatalf("admitted = %v, reasons %v", ok, why)
			}
			if tc.reason != "" && !strings.Contains(strings.Join(why, "\n"), tc.reason) {
				t.Errorf("reasons %q do not say %q", why, tc.reason)
			}
		})
	}
	// A Deny statement wins over an Allow.
	deny := doc
	deny.Statement = append(append([]generator.Statement{}, doc.Statement...), generator.Statement{
		Effect: "Deny", Principal: doc.Statement[0].Principal, Action: generator.StringList{"sts:*"}})
	if ok, _ := EvaluateTrust(deny, Token{testIssuer, "system:serviceaccount:shop:orders", "sts.amazonaws.com"}); ok {
		t.Error("explicit deny must win")
	}
}

func TestGuard(t *testing.T) {
	out := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"))
	if v := Guard(readString(t, out)); len(v) != 0 {
		t.Fatalf("a fresh render must pass the guard: %v", v)
	}
	// What kustomize `namespace: prod-shop` after the function does to the SA.
	moved := strings.Replace(out, "namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: iambind\n  annotations:\n    eks.amazonaws.com/role-arn",
		"namespace: prod-shop\n  labels:\n    app.kubernetes.io/managed-by: iambind\n  annotations:\n    eks.amazonaws.com/role-arn", 1)
	in := readString(t, moved)
	found := false
	for _, sa := range in.ServiceAccounts {
		found = found || sa.Namespace == "prod-shop"
	}
	if !found {
		t.Fatalf("test setup: SA not moved in\n%s", out)
	}
	v := Guard(in)
	if len(v) != 1 || !strings.Contains(v[0], "ServiceAccount prod-shop/orders") || !strings.Contains(v[0], "does not admit system:serviceaccount:prod-shop:orders") {
		t.Fatalf("guard: %v", v)
	}
	// An SA pointing at a role outside the plan is not ours to judge.
	other := out + "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: x\n  namespace: y\n  annotations:\n    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/handmade\n"
	if v := Guard(readString(t, other)); len(v) != 0 {
		t.Fatalf("guard judged a foreign role: %v", v)
	}
}
