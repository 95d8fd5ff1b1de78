package reconcile

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/kptdev/krm-functions-sdk/go/fn"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile/input"
)

func testGuardrails(t *testing.T, spec string) *guardrails.Guardrails {
	t.Helper()
	objs, err := fn.ParseKubeObjects([]byte("apiVersion: iambind.dev/v1alpha1\nkind: Guardrails\nmetadata: {name: g}\nspec:\n" + spec))
	if err != nil {
		t.Fatal(err)
	}
	g, ps := guardrails.Decode(objs[0])
	if ps.HasErrors() {
		t.Fatal(ps)
	}
	return g
}

// TestGuardrailsNeverPlanBoundaryRemoval: a plan without a boundary, against
// a role that has the required one, would plan DeleteRolePermissionsBoundary
// (which the Job's IAM policy denies); the guardrails add the boundary first,
// so the diff has nothing to do.
func TestGuardrailsNeverPlanBoundaryRemoval(t *testing.T) {
	const b = "arn:aws:iam::123456789012:policy/iambind-boundary"
	desired := testRole("shop-orders", "prod")
	observed := observedFrom(desired)
	observed.PermissionsBoundary = b
	state := &iam.State{Roles: map[string]*iam.ObservedRole{"shop-orders": observed}, Providers: map[string]*iam.ObservedProvider{}}

	in := &input.Input{Roles: []*input.DesiredRole{desired}}
	plan, err := iam.Diff(in, state, iam.Options{})
	if err != nil || !slices.Contains(ops(plan.Roles[0].Actions), "DeleteRolePermissionsBoundary "+b) {
		t.Fatalf("without guardrails the diff should remove the boundary (else this test proves nothing): %v %v", err, ops(plan.Roles[0].Actions))
	}

	in = &input.Input{Roles: []*input.DesiredRole{testRole("shop-orders", "prod")}}
	if refused := safety.GuardrailViolations(testGuardrails(t, "  permissionsBoundary: "+b+"\n"), in); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	plan, err = iam.Diff(in, state, iam.Options{})
	if err != nil || len(plan.Roles[0].Actions) != 0 {
		t.Errorf("with guardrails: %v, actions %v, want none", err, ops(plan.Roles[0].Actions))
	}
}

// TestGuardrailViolationsPerRole: only the offending role is reported, so
// --from-cluster can fail just its plan; the others get the boundary.
func TestGuardrailViolationsPerRole(t *testing.T) {
	good, bad := testRole("good", "prod"), testRole("bad", "prod")
	bad.MaxSessionDuration = 43200
	in := &input.Input{Roles: []*input.DesiredRole{bad, good}}
	refused := safety.GuardrailViolations(testGuardrails(t, "  maxSessionDuration: 3600\n  permissionsBoundary: arn:aws:iam::123456789012:policy/b\n"), in)
	if len(refused) != 1 || len(refused[bad]) != 1 || !strings.Contains(refused[bad][0].String(), "role bad (binding shop/bad): maxSessionDuration: 43200 seconds is over the guardrails ceiling") {
		t.Errorf("refused = %v", refused)
	}
	if good.PermissionsBoundary != "arn:aws:iam::123456789012:policy/b" {
		t.Errorf("the compliant role did not get the boundary: %q", good.PermissionsBoundary)
	}
}

// TestClusterRunGuardrails: in --from-cluster mode a plan the guardrails
// refuse fails alone (status Error with the field-addressed violation, no
// IAM write for its role) while a compliant plan converges with the boundary
// added.
func TestClusterRunGuardrailsAddBoundary(t *testing.T) {
	moto := mototest.Start(t)
	moto.SetEnv(t)
	ctx := context.Background()
	const b = "arn:aws:iam::" + testAccount + ":policy/iambind-boundary"
	// The boundary must exist: the preflight refuses a plan naming a missing one.
	admin := moto.AdminIAM()
	if _, err := admin.CreatePolicy(ctx, &awsiam.CreatePolicyInput{PolicyName: aws.String("iambind-boundary"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	cluster := clusterYAML("c", testIssuer)
	good := planConfigMaps(t, render(t, cluster, bindingYAML("shop", "orders")))
	adminPlan := planConfigMaps(t, render(t, cluster, strings.Replace(bindingYAML("evil", "admin"), "[AmazonS3ReadOnlyAccess]", "[AdministratorAccess]", 1)))
	client := fake.NewClientset(append(good, adminPlan...)...)
	run := &clusterRun{client: client, now: time.Now,
		guardrails: testGuardrails(t, "  permissionsBoundary: "+b+"\n  deniedManagedPolicies: [arn:aws:iam::aws:policy/AdministratorAccess]\n")}
	readPlans(ctx, t, run)
	var out bytes.Buffer
	f := &runner{Config: Config{Command: CommandApply, EndpointURL: moto.Endpoint, Output: "text", Concurrency: 2}}
	res, err := run.reconcile(ctx, f, &out, &out)
	if err := run.writeStatus(ctx, res, err); err != nil {
		t.Fatal(err)
	}
	if err != nil || !strings.Contains(out.String(), "roles: 1 created") {
		t.Fatalf("apply: %v\n%s", err, out.String())
	}
	cm, _ := client.CoreV1().ConfigMaps("evil").Get(ctx, "iambind-admin", metav1.GetOptions{})
	want := "guardrails: role evil-admin (binding evil/admin): managedPolicyArns[0]: managed policy arn:aws:iam::aws:policy/AdministratorAccess is refused by the guardrails"
	if cm.Annotations[kube.StatusAnnotation] != "Error" || !strings.Contains(cm.Annotations[kube.MessageAnnotation], want) {
		t.Errorf("refused plan: status %q message %q, want Error with %q", cm.Annotations[kube.StatusAnnotation], cm.Annotations[kube.MessageAnnotation], want)
	}
	cm, _ = client.CoreV1().ConfigMaps("shop").Get(ctx, "iambind-orders", metav1.GetOptions{})
	if cm.Annotations[kube.StatusAnnotation] != "Synced" {
		t.Errorf("compliant plan: status %q message %q", cm.Annotations[kube.StatusAnnotation], cm.Annotations[kube.MessageAnnotation])
	}
	iamc := moto.AdminIAM()
	if _, err := iamc.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("evil-admin")}); err == nil {
		t.Error("the refused plan's role was created")
	}
	r, err := iamc.GetRole(ctx, &awsiam.GetRoleInput{RoleName: aws.String("shop-orders")})
	if err != nil || r.Role.PermissionsBoundary == nil || aws.ToString(r.Role.PermissionsBoundary.PermissionsBoundaryArn) != b {
		t.Errorf("shop-orders: %v, boundary %v, want %s", err, r, b)
	}
}
