package iam

import (
	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/input"
)

const (
	testAccount = fixture.Account
	testIssuer  = fixture.Issuer
	testIssuer2 = fixture.Issuer2
)

// testRole is a complete desired role.
func testRole(name, owner string) *input.DesiredRole {
	return &input.DesiredRole{Source: "test: ConfigMap shop/iambind-" + name, Role: fixture.Role(name, owner)}
}

// observedFrom is the role as IAM would report it after a perfect apply.
func observedFrom(d *input.DesiredRole) *ObservedRole {
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
