package reconcile_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
)

// TestLintHandEditedPlan: `iambind plan|apply -f` holds the plans it reads
// to the policy lint (docs/lint.md), so a plan ConfigMap edited by hand
// after the function rendered it is caught: a misspelt action refuses the
// run like any invalid plan (exit 1, nothing written to IAM), and a warning
// is printed and listed among the JSON plan's warnings while the plan goes
// on.
func TestLintHandEditedPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	e := newBadEnv(t)
	rendered := grRender(t, `  policies:
    inline:
      read-s3: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:ListBucket", "s3:GetObject"], Resource: ["arn:aws:s3:::orders", "arn:aws:s3:::orders/*"]}]}
`)
	if !strings.Contains(rendered, `"s3:GetObject"`) {
		t.Fatalf("the rendered plan lacks the action to edit:\n%s", rendered)
	}

	t.Run("error refuses", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", editPlan(t, rendered, `"s3:GetObject"`, `"s3:GetObjet"`))
		for _, cmd := range []string{"plan", "apply"} {
			r := e.run(t, cmd, "-f", plan, "--endpoint-url", e.moto.Endpoint)
			checkRejected(t, cmd, r, []string{
				"the plan is invalid, nothing was changed",
				"binding shop/orders, inline policy read-s3: Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?",
			})
			if n := strings.Count(r.stderr, "s3:GetObjet: did you mean"); n != 1 {
				t.Errorf("%s: the finding is on %d lines, want 1:\n%s", cmd, n, r.stderr)
			}
		}
		if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
			t.Errorf("IAM was written: roles %v providers %v", roles, providers)
		}
	})

	// --guardrails FILE: a deniedActions glob that matches no action of the
	// catalogue refuses the run before any AWS call.
	t.Run("guardrails glob matching nothing", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", rendered)
		gr := writeTemp(t, "guardrails.yaml", "apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: platform}\nspec:\n  deniedActions: [iam:PutRolePolicy, \"iam:PutRolePolcy*\", iam:PassRole+lambda:CreateFuncton]\n")
		for _, cmd := range []string{"plan", "apply"} {
			r := e.run(t, cmd, "-f", plan, "--guardrails", gr, "--endpoint-url", e.moto.Endpoint)
			checkRejected(t, cmd, r, []string{
				"Guardrails platform: spec.deniedActions[1]: iam:PutRolePolcy* matches no iam action",
				"Guardrails platform: spec.deniedActions[2]: lambda:CreateFuncton: did you mean lambda:CreateFunction?",
			})
		}
		if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
			t.Errorf("IAM was written: roles %v providers %v", roles, providers)
		}
	})

	t.Run("warning is printed", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", editPlan(t, rendered, `"arn:aws:s3:::orders/*"`, `"arn:aws:dynamodb:us-west-2:111122223333:table/orders"`))
		want := "binding shop/orders, inline policy read-s3: Statement[0].Resource[1]: arn:aws:dynamodb:us-west-2:111122223333:table/orders is an ARN of service dynamodb, but no action of the statement (services s3) acts on dynamodb resources"
		r := e.run(t, "plan", "-f", plan, "--endpoint-url", e.moto.Endpoint)
		if r.exitCode != 0 {
			t.Fatalf("plan with a lint warning: exit %d\n%s", r.exitCode, r.stderr)
		}
		if lines := linesContaining(r.stderr, want); len(lines) != 1 || !strings.HasPrefix(lines[0], "iambind: warning: role shop-orders (") {
			t.Errorf("want one warning line with %q:\n%s", want, r.stderr)
		}
		r = e.run(t, "plan", "-f", plan, "--output", "json", "--endpoint-url", e.moto.Endpoint)
		var doc struct{ Warnings []string }
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("plan --output json: %v\n%s", err, r.stdout)
		}
		if len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], want) {
			t.Errorf("JSON warnings %q, want the lint warning", doc.Warnings)
		}
	})
}

// editPlan edits the plan ConfigMap's role.json by hand: the last old in
// the rendered output (the binding, passed through, comes first).
func editPlan(t *testing.T, rendered, old, new string) string {
	t.Helper()
	i := strings.LastIndex(rendered, old)
	if i < 0 || !strings.Contains(rendered[:i], "role.json: |") {
		t.Fatalf("%s is not in the plan's role.json:\n%s", old, rendered)
	}
	return rendered[:i] + new + rendered[i+len(old):]
}

func linesContaining(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// TestLintFromCluster: `apply --from-cluster` refuses a plan ConfigMap whose
// inline policy was edited by hand into a misspelt action alone (status
// Error naming the finding, no IAM write for it), while the other plans
// converge in the same run, and a lint warning is printed without failing
// its plan.
func TestLintFromCluster(t *testing.T) {
	server := kubetest.StartT(t)
	moto := mototest.StartInAccount(t, exampleAccount)
	moto.SetEnv(t)
	kubeconfig := writeKubeconfig(t, server)
	admin, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	inline := func(ns, name, resource string) string {
		return binding(ns, name, `  policies:
    inline:
      data: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:GetObject"], Resource: "`+resource+`"}]}
`)
	}
	plans := renderPlans(t,
		strings.Replace(inline("shop", "orders", "arn:aws:s3:::orders/*"), "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n", "", 1),
		strings.Replace(inline("payments", "api", "arn:aws:s3:::payments/*"), "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n", "", 1),
		strings.Replace(inline("reports", "daily", "arn:aws:dynamodb:us-east-1:"+exampleAccount+":table/reports"), "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n", "", 1))
	if len(plans) != 3 {
		t.Fatalf("%d plans rendered, want 3", len(plans))
	}
	for _, cm := range plans {
		if cm.Namespace == "payments" {
			rj := cm.Data[generator.PlanKeyRole]
			cm.Data[generator.PlanKeyRole] = strings.Replace(rj, `"s3:GetObject"`, `"s3:GetObjet"`, 1)
			if cm.Data[generator.PlanKeyRole] == rj {
				t.Fatalf("the plan lacks the action to edit:\n%s", rj)
			}
		}
		if _, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: cm.Namespace}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		createCM(t, admin, cm)
	}
	code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
	if code != 1 {
		t.Fatalf("apply with a refused plan must exit 1, got %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "roles: 2 created") {
		t.Errorf("the other plans must converge in the same run:\n%s\n%s", stdout, stderr)
	}
	finding := "binding payments/api, inline policy data: Statement[0].Action[0]: s3:GetObjet: did you mean s3:GetObject?"
	if st, msg := status(t, admin, "payments/iambind-api"); st != "Error" || !strings.Contains(msg, finding) {
		t.Errorf("payments/iambind-api: status %q message %q, want Error with %q", st, msg, finding)
	}
	for _, cm := range []string{"shop/iambind-orders", "reports/iambind-daily"} {
		if st, msg := status(t, admin, cm); st != "Synced" {
			t.Errorf("%s: status %q message %q, want Synced", cm, st, msg)
		}
	}
	warning := "binding reports/daily, inline policy data: Statement[0].Resource: arn:aws:dynamodb:us-east-1:" + exampleAccount + ":table/reports is an ARN of service dynamodb"
	if lines := linesContaining(stderr, warning); len(lines) != 1 || !strings.HasPrefix(lines[0], "iambind: warning: ") {
		t.Errorf("want one warning line with %q:\n%s", warning, stderr)
	}
	iamc := iam.New(iam.Options{Region: mototest.Region, BaseEndpoint: aws.String(moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
	for role, want := range map[string]bool{"shop-orders": true, "payments-api": false, "reports-daily": true} {
		if _, err := iamc.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(role)}); (err == nil) != want {
			t.Errorf("role %s exists: %v, want %v", role, err == nil, want)
		}
	}
}
