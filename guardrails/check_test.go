package guardrails

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
)

const boundary = "arn:aws:iam::111122223333:policy/iambind-boundary"

func testGuardrails(t *testing.T, spec string) *Guardrails {
	t.Helper()
	objs, err := fn.ParseKubeObjects([]byte("apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: g}\nspec:\n" + spec))
	if err != nil {
		t.Fatal(err)
	}
	g, ps := Decode(objs[0])
	if ps.HasErrors() {
		t.Fatalf("decode: %v", ps)
	}
	return g
}

func role(inline map[string]string) generator.Role {
	r := generator.Role{
		Name: "shop-orders", Path: "/iambind/", ARN: "arn:aws:iam::111122223333:role/iambind/shop-orders",
		MaxSessionDuration: 3600, InlinePolicies: map[string]json.RawMessage{},
		Tags: map[string]string{generator.TagBinding: "shop/orders"},
	}
	for k, v := range inline {
		r.InlinePolicies[k] = json.RawMessage(v)
	}
	return r
}

// TestInlineRules: each statement below is refused (or not) with a message
// naming the exact field; the wildcard, case and NotAction tricks included.
func TestInlineRules(t *testing.T) {
	g := testGuardrails(t, "  permissionsBoundary: "+boundary+"\n")
	for _, c := range []struct {
		name, doc string
		want      []string // "field: message fragment"; none = allowed
	}{
		{"scoped s3", `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"arn:aws:s3:::b/*"}]}`, nil},
		{"star", `{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
			[]string{`inlinePolicies.p.Statement[0].Action: "*" grants every action`}},
		{"star colon star", `{"Statement":{"Effect":"Allow","Action":"*:*","Resource":"*"}}`,
			[]string{`inlinePolicies.p.Statement.Action: "*:*" grants every action`}},
		{"iam star upper case", `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject","IAM:*"],"Resource":"*"}]}`,
			[]string{`inlinePolicies.p.Statement[0].Action[1]: "IAM:*" grants every IAM action`}},
		{"i star", `{"Statement":[{"Effect":"Allow","Action":"i*","Resource":"*"}]}`,
			[]string{`Action: "i*" grants every IAM action`}},
		{"put star covers PutRolePolicy", `{"Statement":[{"Effect":"Allow","Action":"iam:Put*","Resource":"arn:aws:iam::111122223333:role/x"}]}`,
			[]string{`Action: "iam:Put*" covers iam:PutUserPolicy is privilege escalation`}},
		{"lower case escalation", `{"Statement":[{"Effect":"Allow","Action":"iam:createpolicyversion","Resource":"arn:aws:iam::111122223333:policy/x"}]}`,
			[]string{`"iam:createpolicyversion" is privilege escalation (guardrails deniedActions: iam:CreatePolicyVersion)`}},
		{"question mark", `{"Statement":[{"Effect":"Allow","Action":"iam:Attach?olePolicy","Resource":"*"}]}`,
			[]string{`covers iam:AttachRolePolicy`}},
		{"not action", `{"Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}`,
			[]string{`inlinePolicies.p.Statement[0].NotAction: an Allow statement with NotAction`}},
		{"deny is fine", `{"Statement":[{"Effect":"Deny","Action":"iam:*","Resource":"*"},{"Effect":"Deny","NotAction":"s3:*","Resource":"*"}]}`, nil},
		{"passrole star", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}`,
			[]string{`"iam:PassRole" grants iam:PassRole on every role`}},
		{"passrole every role of the account", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":["arn:aws:iam::111122223333:role/*"]}]}`,
			[]string{`grants iam:PassRole on every role`}},
		{"passrole not resource", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","NotResource":"arn:aws:iam::111122223333:role/admin"}]}`,
			[]string{`grants iam:PassRole on every role`}},
		{"passrole scoped", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/app-task"}]}`, nil},
		{"assumerole star", `{"Statement":[{"Effect":"Allow","Action":"sts:Assume*","Resource":"*"}]}`,
			[]string{`"sts:Assume*" grants sts:AssumeRole on every role`}},
		{"passrole plus lambda", `{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"arn:aws:iam::111122223333:role/fn"},{"Effect":"Allow","Action":"lambda:Create*","Resource":"*"}]}`,
			[]string{`inlinePolicies.p.Statement[1].Action: "lambda:Create*" together with the role's other grants is privilege escalation (iam:PassRole at inlinePolicies.p.Statement[0].Action, lambda:CreateFunction at inlinePolicies.p.Statement[1].Action; guardrails deniedActions: iam:PassRole+lambda:CreateFunction)`}},
		{"update function code", `{"Statement":[{"Effect":"Allow","Action":"lambda:UpdateFunctionCode","Resource":"*"}]}`,
			[]string{`"lambda:UpdateFunctionCode" is privilege escalation`}},
		{"misspelt element", `{"Statement":[{"Effect":"Allow","action":"iam:*","Resource":"*"}]}`,
			[]string{`inlinePolicies.p: cannot be evaluated by the guardrails: Statement[0]: unknown element "action"`}},
		{"action not a string", `{"Statement":[{"Effect":"Allow","Action":{"x":1},"Resource":"*"}]}`,
			[]string{`cannot be evaluated`}},
		{"effect lower case counts as allow", `{"Statement":[{"Effect":"deny","Action":"iam:*","Resource":"*"}]}`,
			[]string{`grants every IAM action`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, vs := g.Violations(role(map[string]string{"p": c.doc}))
			var got []string
			for _, v := range vs {
				got = append(got, v.String())
			}
			if len(c.want) == 0 && len(got) > 0 {
				t.Fatalf("refused, want allowed:\n%s", strings.Join(got, "\n"))
			}
			for _, w := range c.want {
				found := false
				for _, line := range got {
					found = found || strings.Contains(line, w)
				}
				if !found {
					t.Errorf("no violation contains %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
			for _, line := range got {
				if !strings.HasPrefix(line, "role shop-orders (binding shop/orders): inlinePolicies.p") {
					t.Errorf("violation not addressed to the role, binding and field: %s", line)
				}
			}
		})
	}
}

func TestRoleRules(t *testing.T) {
	g := testGuardrails(t, `  permissionsBoundary: `+boundary+`
  maxSessionDuration: 7200
  rolePaths: [/iambind/*]
  allowedManagedPolicies: ["arn:aws:iam::aws:policy/*", "arn:aws:iam::111122223333:policy/iambind/*"]
  deniedManagedPolicies: [arn:aws:iam::aws:policy/AdministratorAccess, "arn:*:iam::*:policy/IAMFullAccess"]
`)
	r := role(nil)
	got, vs := g.Violations(r)
	if len(vs) > 0 || got.PermissionsBoundary != boundary {
		t.Fatalf("a compliant role: violations %v, boundary %q (want it added)", vs, got.PermissionsBoundary)
	}
	r.PermissionsBoundary = "arn:aws:iam::111122223333:policy/other"
	r.MaxSessionDuration = 43200
	r.Path = "/admin/"
	r.ManagedPolicyARNs = []string{"arn:aws:iam::111122223333:policy/mine", "arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/IAMFullAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"}
	_, vs = g.Violations(r)
	want := []string{
		"role shop-orders (binding shop/orders): permissionsBoundary: arn:aws:iam::111122223333:policy/other is not the permissions boundary the guardrails require (permissionsBoundary: " + boundary + ")",
		"maxSessionDuration: 43200 seconds is over the guardrails ceiling (maxSessionDuration: 7200)",
		"path: /admin/ is not an allowed role path (guardrails rolePaths: /iambind/*)",
		"managedPolicyArns[0]: managed policy arn:aws:iam::111122223333:policy/mine is not allowed by the guardrails (allowedManagedPolicies: arn:aws:iam::aws:policy/*, arn:aws:iam::111122223333:policy/iambind/*)",
		"managedPolicyArns[1]: managed policy arn:aws:iam::aws:policy/AdministratorAccess is refused by the guardrails (deniedManagedPolicies: arn:aws:iam::aws:policy/AdministratorAccess)",
		"managedPolicyArns[2]: managed policy arn:aws:iam::aws:policy/IAMFullAccess is refused by the guardrails (deniedManagedPolicies: arn:*:iam::*:policy/IAMFullAccess)",
	}
	if len(vs) != len(want) {
		t.Errorf("got %d violations, want %d: %v", len(vs), len(want), vs)
	}
	for i, w := range want {
		if i < len(vs) && !strings.Contains(vs[i].String(), w) {
			t.Errorf("violation %d = %q, want it to contain %q", i, vs[i], w)
		}
	}
}

func TestDecodeRefusesBadGuardrails(t *testing.T) {
	for spec, want := range map[string]string{
		"  deniedAction: [iam:*]\n":            "spec.deniedAction: unknown field",
		"  deniedActions: [PutRolePolicy]\n":   `spec.deniedActions[0]: "PutRolePolicy" is not an action glob`,
		"  permissionsBoundary: boundary\n":    `spec.permissionsBoundary: "boundary" is not an IAM policy ARN`,
		"  maxSessionDuration: 60\n":           "spec.maxSessionDuration: 60 is outside 3600..43200",
		"  rolePaths: [iambind]\n":             `spec.rolePaths[0]: "iambind" is not a role path glob`,
		"  allowedManagedPolicies: [Admin*]\n": `spec.allowedManagedPolicies[0]: "Admin*" is not a policy ARN glob`,
		"  maxSessionDuration: \"3600\"\n":     "spec.maxSessionDuration: must be an integer",
	} {
		objs, err := fn.ParseKubeObjects([]byte("apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: g}\nspec:\n" + spec))
		if err != nil {
			t.Fatal(err)
		}
		g, ps := Decode(objs[0])
		if g != nil || !strings.Contains(fmt.Sprint(ps.Errors()), want) {
			t.Errorf("spec %q: problems %v, want %q", spec, ps, want)
		}
	}
}

func TestDeniedActionsDefaultAndEmpty(t *testing.T) {
	doc := map[string]string{"p": `{"Statement":[{"Effect":"Allow","Action":"iam:PutRolePolicy","Resource":"arn:aws:iam::111122223333:role/x"}]}`}
	if _, vs := testGuardrails(t, "  rolePaths: [/iambind/*]\n").Violations(role(doc)); len(vs) != 1 {
		t.Errorf("omitted deniedActions must mean the default list: %v", vs)
	}
	if _, vs := testGuardrails(t, "  deniedActions: []\n").Violations(role(doc)); len(vs) != 0 {
		t.Errorf("deniedActions: [] must turn the list off: %v", vs)
	}
	star := map[string]string{"p": `{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"*"}]}`}
	if _, vs := testGuardrails(t, "  deniedActions: []\n").Violations(role(star)); len(vs) != 1 {
		t.Errorf("iam:* is refused whatever deniedActions says: %v", vs)
	}
}

func TestDuplicateKeysRefused(t *testing.T) {
	g := testGuardrails(t, "")
	for _, doc := range []string{
		`{"Statement":[{"Effect":"Allow","Action":"iam:*","Action":"s3:GetObject","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}],"Statement":[]}`,
		`{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*","Condition":{"StringEquals":{"a":"b","a":"c"}}}]}`,
	} {
		if _, vs := g.Violations(role(map[string]string{"p": doc})); len(vs) != 1 || !strings.Contains(vs[0].Message, "is given twice") {
			t.Errorf("%s: %v, want a duplicate-key refusal", doc, vs)
		}
	}
	ok := `{"Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"},{"Effect":"Allow","Action":"s3:PutObject","Resource":["a","b"],"Condition":{"X":{"a":"1"},"Y":{"a":"1"}}}]}`
	if _, vs := g.Violations(role(map[string]string{"p": ok})); len(vs) != 0 {
		t.Errorf("the same key in different objects is fine: %v", vs)
	}
	if _, vs := g.Violations(role(map[string]string{"p": `{"Statement":[{"Effect":"Allow","Action":" iam:* ","Resource":"*"}]}`})); len(vs) != 1 {
		t.Errorf("white space around an action must not hide it: %v", vs)
	}
}
