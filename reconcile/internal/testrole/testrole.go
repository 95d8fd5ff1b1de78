// Package testrole holds the planned and observed roles the reconcile
// rooms' tests share (their own package tests keep copies only where an
// import would be a cycle).
package testrole

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

// Desired is a complete planned role of namespace shop owned by owner.
func Desired(name, owner string) *input.DesiredRole {
	return &input.DesiredRole{Source: "test: ConfigMap shop/iambind-" + name, Role: fixture.Role(name, owner)}
}

// Observed is the role as IAM would report it after a perfect apply of d.
func Observed(d *input.DesiredRole) *iam.ObservedRole {
	o := &iam.ObservedRole{
		Name: d.Name, Path: d.Path, ARN: d.ARN, Description: d.Description,
		MaxSessionDuration: d.MaxSessionDuration, PermissionsBoundary: d.PermissionsBoundary,
		TrustPolicy: iam.TrustDocument(&d.Role), ManagedPolicyARNs: append([]string(nil), d.ManagedPolicyARNs...),
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

// Read reads a rendered stream as the CLI would.
func Read(t testing.TB, s string) *input.Input {
	t.Helper()
	in, err := input.ReadInputs([]string{"-"}, strings.NewReader(s))
	if err != nil {
		t.Fatalf("ReadInputs: %v", err)
	}
	return in
}
