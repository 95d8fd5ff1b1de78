package reconcile

import (
	"slices"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/guardrails"
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
	state := &State{Roles: map[string]*ObservedRole{"shop-orders": observed}, Providers: map[string]*ObservedProvider{}}

	in := &Input{Roles: []*DesiredRole{desired}}
	plan, err := Diff(in, state, Options{})
	if err != nil || !slices.Contains(ops(plan.Roles[0].Actions), "DeleteRolePermissionsBoundary "+b) {
		t.Fatalf("without guardrails the diff should remove the boundary (else this test proves nothing): %v %v", err, ops(plan.Roles[0].Actions))
	}

	in = &Input{Roles: []*DesiredRole{testRole("shop-orders", "prod")}}
	if refused := GuardrailViolations(testGuardrails(t, "  permissionsBoundary: "+b+"\n"), in); len(refused) > 0 {
		t.Fatalf("refused: %v", refused)
	}
	plan, err = Diff(in, state, Options{})
	if err != nil || len(plan.Roles[0].Actions) != 0 {
		t.Errorf("with guardrails: %v, actions %v, want none", err, ops(plan.Roles[0].Actions))
	}
}

// TestGuardrailViolationsPerRole: only the offending role is reported, so
// --from-cluster can fail just its plan; the others get the boundary.
func TestGuardrailViolationsPerRole(t *testing.T) {
	good, bad := testRole("good", "prod"), testRole("bad", "prod")
	bad.MaxSessionDuration = 43200
	in := &Input{Roles: []*DesiredRole{bad, good}}
	refused := GuardrailViolations(testGuardrails(t, "  maxSessionDuration: 3600\n  permissionsBoundary: arn:aws:iam::123456789012:policy/b\n"), in)
	if len(refused) != 1 || len(refused[bad]) != 1 || !strings.Contains(refused[bad][0].String(), "role bad (binding shop/bad): maxSessionDuration: 43200 seconds is over the guardrails ceiling") {
		t.Errorf("refused = %v", refused)
	}
	if good.PermissionsBoundary != "arn:aws:iam::123456789012:policy/b" {
		t.Errorf("the compliant role did not get the boundary: %q", good.PermissionsBoundary)
	}
}
