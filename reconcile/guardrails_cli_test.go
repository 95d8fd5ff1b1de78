package reconcile_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
)

// The Guardrails rules through the built `iambind` binary against moto:
// a compliant plan applies with the required boundary added;
// each broken rule is refused by plan and apply with exit 1, a message naming
// role, binding, field, value and rule, and zero writes to IAM.

const grBoundary = "arn:aws:iam::111122223333:policy/iambind-boundary"

const grFile = `apiVersion: iambind.dev/v1alpha1
kind: Guardrails
metadata:
  name: platform
spec:
  permissionsBoundary: ` + grBoundary + `
  maxSessionDuration: 7200
  rolePaths: [/iambind/*]
  allowedManagedPolicies: ["arn:aws:iam::aws:policy/*"]
  deniedManagedPolicies: [arn:aws:iam::aws:policy/AdministratorAccess]
`

// grRender renders one binding (in account 111122223333) with the real
// generator and no guardrails, as a tenant's unchecked pipeline would.
func grRender(t *testing.T, spec string) string {
	t.Helper()
	docs := `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: prod}
spec:
  accountID: "111122223333"
  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
  rolePath: /iambind/
---
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: orders, namespace: shop}
spec:
` + spec
	items, err := fn.ParseKubeObjects([]byte(docs))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("render: %v", out.Problems)
	}
	return out.Items.String()
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestGuardrailsCLI(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	e := newBadEnv(t)
	gr := writeTemp(t, "guardrails.yaml", grFile)

	refused := []struct{ name, spec, want string }{
		{"denied managed", "  policies: {managed: [AdministratorAccess]}\n",
			"role shop-orders (binding shop/orders): managedPolicyArns[0]: managed policy arn:aws:iam::aws:policy/AdministratorAccess is refused by the guardrails (deniedManagedPolicies: arn:aws:iam::aws:policy/AdministratorAccess)"},
		{"not allowed managed", "  policies: {managed: [\"arn:aws:iam::111122223333:policy/custom\"]}\n",
			"role shop-orders (binding shop/orders): managedPolicyArns[0]: managed policy arn:aws:iam::111122223333:policy/custom is not allowed by the guardrails (allowedManagedPolicies: arn:aws:iam::aws:policy/*)"},
		{"escalation glob", `  policies:
    inline:
      ops: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:GetObject", "iam:Attach*"], Resource: "*"}]}
`, `role shop-orders (binding shop/orders): inlinePolicies.ops.Statement[0].Action[1]: "iam:Attach*" covers iam:AttachUserPolicy is privilege escalation (guardrails deniedActions: iam:AttachUserPolicy)`},
		{"passrole on star", `  policies:
    inline:
      ops: {Version: "2012-10-17", Statement: {Effect: Allow, Action: iam:PassRole, Resource: "*"}}
`, `role shop-orders (binding shop/orders): inlinePolicies.ops.Statement.Action: "iam:PassRole" grants iam:PassRole on every role`},
		{"boundary", "  role: {permissionsBoundary: \"arn:aws:iam::111122223333:policy/weaker\"}\n",
			"role shop-orders (binding shop/orders): permissionsBoundary: arn:aws:iam::111122223333:policy/weaker is not the permissions boundary the guardrails require (permissionsBoundary: " + grBoundary + ")"},
		{"session ceiling", "  role: {maxSessionDuration: 43200}\n",
			"role shop-orders (binding shop/orders): maxSessionDuration: 43200 seconds is over the guardrails ceiling (maxSessionDuration: 7200)"},
		{"path", "  role: {path: /admin/}\n",
			"role shop-orders (binding shop/orders): path: /admin/ is not an allowed role path (guardrails rolePaths: /iambind/*)"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			plan := writeTemp(t, "rendered.yaml", grRender(t, c.spec))
			for _, cmd := range []string{"plan", "apply"} {
				r := e.run(t, cmd, "-f", plan, "--guardrails", gr, "--endpoint-url", e.moto.Endpoint)
				checkRejected(t, cmd, r, []string{"guardrails " + gr + " refused 1 role(s), nothing was changed", c.want})
			}
			if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
				t.Errorf("IAM was written: roles %v providers %v", roles, providers)
			}
		})
	}

	t.Run("bad guardrails file", func(t *testing.T) {
		bad := writeTemp(t, "bad.yaml", strings.Replace(grFile, "rolePaths", "rolePath", 1))
		plan := writeTemp(t, "rendered.yaml", grRender(t, ""))
		r := e.run(t, "apply", "-f", plan, "--guardrails", bad, "--endpoint-url", e.moto.Endpoint)
		checkRejected(t, "apply", r, []string{"Guardrails platform: spec.rolePath: unknown field"})
		if roles, _ := e.iamContents(t); len(roles) > 0 {
			t.Errorf("IAM was written: %v", roles)
		}
	})

	// Last, since it writes: a compliant plan applies with the boundary
	// added, and the next plan has nothing to do (the boundary is never
	// planned away).
	t.Run("compliant plan gets the boundary", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", grRender(t, "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n"))
		if strings.Contains(grRender(t, ""), "permissionsBoundary") {
			t.Fatal("the rendered plan already has a boundary: the test would prove nothing")
		}
		// The boundary must exist: the preflight refuses a missing one
		// (which moto's CreateRole would accept).
		if _, err := e.iam.CreatePolicy(context.Background(), &iam.CreatePolicyInput{PolicyName: aws.String("iambind-boundary"),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
		r := e.run(t, "apply", "-f", plan, "--guardrails", gr, "--endpoint-url", e.moto.Endpoint)
		if r.exitCode != 0 {
			t.Fatalf("apply: exit %d\n%s%s", r.exitCode, r.stdout, r.stderr)
		}
		got, err := e.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String("shop-orders")})
		if err != nil {
			t.Fatal(err)
		}
		if b := got.Role.PermissionsBoundary; b == nil || aws.ToString(b.PermissionsBoundaryArn) != grBoundary {
			t.Errorf("the role's boundary is %v, want %s", b, grBoundary)
		}
		r = e.run(t, "plan", "-f", plan, "--guardrails", gr, "--detailed-exitcode", "--endpoint-url", e.moto.Endpoint)
		if r.exitCode != 0 {
			t.Errorf("plan after apply: exit %d, want 0 (no changes)\n%s%s", r.exitCode, r.stdout, r.stderr)
		}
		// Without the guardrails the same plan would remove the boundary:
		// that is what they prevent.
		r = e.run(t, "plan", "-f", plan, "--endpoint-url", e.moto.Endpoint)
		if !strings.Contains(r.stdout, "permissionsBoundary") {
			t.Errorf("without --guardrails the plan should show the boundary going away:\n%s", r.stdout)
		}
	})
}
