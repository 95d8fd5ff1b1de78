package input

import (
	"strings"
	"testing"
)

const targetCluster = `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata:
  name: prod
spec:
  accountID: "111122223333"
  region: us-west-2
  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE
  eksClusterName: prod
`

const targetBinding = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: orders
  namespace: shop
spec:
  mode: podIdentity
  podIdentity: {targetAccountID: "210987654321"}
  policies: {managed: [AmazonS3ReadOnlyAccess]}
`

// A binding with a target account plans two roles in one ConfigMap; the
// per-account split puts each in its own account.
func TestReadTargetRolePlan(t *testing.T) {
	in := readString(t, render(t, targetCluster, targetBinding))
	if len(in.Roles) != 2 {
		t.Fatalf("want the association and the target role, got %d roles", len(in.Roles))
	}
	parts := ByAccount(in)
	if len(parts) != 2 || parts[0].Account != "111122223333" || parts[1].Account != "210987654321" {
		t.Fatalf("accounts: %+v", parts)
	}
	assoc, target := parts[0].In.Roles[0], parts[1].In.Roles[0]
	if assoc.PodIdentityAssociations[0].TargetRoleARN != target.ARN || target.PodIdentityTarget.AssociationRoleARN != assoc.ARN {
		t.Errorf("the roles do not name each other: %+v / %+v", assoc.PodIdentityAssociations, target.PodIdentityTarget)
	}
}

// A hand edit that breaks the pair is refused, naming the plan.
func TestReadTargetRolePlanMismatch(t *testing.T) {
	out := render(t, targetCluster, targetBinding)
	for name, edit := range map[string][2]string{
		"target trusts another role":  {`"associationRoleArn": "arn:aws:iam::111122223333:role/shop-orders"`, `"associationRoleArn": "arn:aws:iam::111122223333:role/other"`},
		"association leads elsewhere": {`"targetRoleArn": "arn:aws:iam::210987654321:role/shop-orders"`, `"targetRoleArn": "arn:aws:iam::210987654321:role/other"`},
	} {
		t.Run(name, func(t *testing.T) {
			edited := strings.Replace(out, edit[0], edit[1], 1)
			if edited == out {
				t.Fatalf("edit %q did not apply", edit[0])
			}
			_, err := ReadInputs([]string{"-"}, strings.NewReader(edited))
			if err == nil || !strings.Contains(err.Error(), "ConfigMap shop/iambind-orders") {
				t.Fatalf("want a refusal naming the plan, got %v", err)
			}
		})
	}
}
