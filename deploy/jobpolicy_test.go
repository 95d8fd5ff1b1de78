package deploy

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/iameval"
)

// The names deploy/ uses, as the Job's IAM policy spells them.
const (
	account      = "111122223333"
	boundaryARN  = "arn:aws:iam::" + account + ":policy/iambind-boundary"
	managedRole  = "arn:aws:iam::" + account + ":role/iambind/shop-orders"
	outsideRole  = "arn:aws:iam::" + account + ":role/admin/break-glass"
	ownRole      = "arn:aws:iam::" + account + ":role/iambind-system/iambind-system-iambind"
	providerARN  = "arn:aws:iam::" + account + ":oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE"
	ownerTag     = "iambind.dev/owner"
	otherPolicy  = "arn:aws:iam::" + account + ":policy/weaker"
	policyOutput = "iam-policy.json"
)

// boundaryKeyActions are the role actions for which IAM fills in the
// iam:PermissionsBoundary condition key (the boundary in the request for
// CreateRole and PutRolePermissionsBoundary, the role's current one otherwise).
var boundaryKeyActions = []string{"CreateRole", "PutRolePermissionsBoundary", "AttachRolePolicy", "DetachRolePolicy",
	"PutRolePolicy", "DeleteRolePolicy", "DeleteRolePermissionsBoundary"}

// jobContext is the request context of one of the Job's own calls on a role
// it created: the boundary present, the owner tag on the request and the role.
func jobContext(action, boundary string) map[string]string {
	ctx := map[string]string{"aws:RequestTag/" + ownerTag: "prod", "aws:ResourceTag/" + ownerTag: "prod"}
	if boundary != "" && slices.Contains(boundaryKeyActions, action) {
		ctx["iam:PermissionsBoundary"] = boundary
	}
	return ctx
}

// TestJobPolicyDelegation proves, with iambind's own evaluator of IAM's
// policy logic, the rules of deploy/iam-policy.json that moto cannot check
// (it evaluates no Condition and no Resource of a role not created yet; see
// TestJobPolicyUnderMotoAuthorization for what moto does check):
//   - every call the Job makes on a role it manages is allowed;
//   - creating or changing a role without the boundary, or with another one, is denied;
//   - removing a boundary, editing the boundary policy and touching iambind's own role are explicitly denied;
//   - nothing is allowed on a role outside /iambind/;
//   - destructive calls need the owner tag on the role.
func TestJobPolicyDelegation(t *testing.T) {
	policy, err := os.ReadFile(filepath.Join(repoRoot, "deploy", policyOutput))
	if err != nil {
		t.Fatal(err)
	}
	eval := func(action, resource string, ctx map[string]string) iameval.Decision {
		t.Helper()
		d, _, err := iameval.Evaluate(policy, iameval.Request{Action: "iam:" + action, Resource: resource, Context: ctx})
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	expect := func(what string, got, want iameval.Decision) {
		t.Helper()
		if got != want {
			t.Errorf("%s: %s, want %s", what, got, want)
		}
	}
	for _, a := range jobReads {
		expect("read "+a, eval(a, managedRole, nil), iameval.Allowed)
	}
	for _, a := range jobWrites {
		target := managedRole
		if strings.HasSuffix(a, "OpenIDConnectProvider") {
			target = providerARN
		}
		expect(a+" on a managed role with the boundary", eval(a, target, jobContext(a, boundaryARN)), iameval.Allowed)
		if target != managedRole {
			continue
		}
		if eval(a, outsideRole, jobContext(a, boundaryARN)) == iameval.Allowed {
			t.Errorf("%s is allowed on a role outside /iambind/", a)
		}
		expect(a+" on iambind's own role", eval(a, ownRole, jobContext(a, boundaryARN)), iameval.ExplicitDeny)
		if slices.Contains(boundaryKeyActions, a) {
			if d := eval(a, managedRole, jobContext(a, "")); d == iameval.Allowed {
				t.Errorf("%s without a permissions boundary is allowed", a)
			}
			if d := eval(a, managedRole, jobContext(a, otherPolicy)); d == iameval.Allowed {
				t.Errorf("%s with another permissions boundary (%s) is allowed", a, otherPolicy)
			}
		}
	}
	expect("CreateRole outside /iambind/, even with the boundary", eval("CreateRole", outsideRole, jobContext("CreateRole", boundaryARN)), iameval.ExplicitDeny)
	createNoOwner := jobContext("CreateRole", boundaryARN)
	delete(createNoOwner, "aws:RequestTag/"+ownerTag)
	expect("CreateRole without the owner tag", eval("CreateRole", managedRole, createNoOwner), iameval.ImplicitDeny)
	for _, a := range []string{"DeleteRole", "DeleteRolePolicy", "DetachRolePolicy", "UntagRole", "RemoveRoleFromInstanceProfile"} {
		ctx := jobContext(a, boundaryARN)
		delete(ctx, "aws:ResourceTag/"+ownerTag)
		expect(a+" on a role iambind does not own", eval(a, managedRole, ctx), iameval.ImplicitDeny)
	}
	expect("DeleteRolePermissionsBoundary", eval("DeleteRolePermissionsBoundary", managedRole, jobContext("DeleteRolePermissionsBoundary", boundaryARN)), iameval.ExplicitDeny)
	for _, a := range []string{"CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy"} {
		expect(a+" on the boundary policy", eval(a, boundaryARN, nil), iameval.ExplicitDeny)
	}
	for _, a := range []string{"CreatePolicy", "CreateUser", "CreateAccessKey", "PassRole", "AttachUserPolicy"} {
		expect(a+" (never granted)", eval(a, "*", nil), iameval.ImplicitDeny)
	}
}
