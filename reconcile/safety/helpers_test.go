package safety

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

const (
	testAccount = fixture.Account
	testIssuer  = fixture.Issuer
	testIssuer2 = fixture.Issuer2
)

func clusterYAML(name, issuer string) string { return fixture.ClusterYAML(name, issuer) }
func bindingYAML(ns, name string, clusters ...string) string {
	return fixture.BindingYAML(ns, name, clusters...)
}

func render(t testing.TB, docs ...string) string {
	t.Helper()
	return fixture.Render(t, docs...)
}

// readString reads a rendered stream as the CLI would.
func readString(t testing.TB, s string) *input.Input {
	t.Helper()
	in, err := input.ReadInputs([]string{"-"}, strings.NewReader(s))
	if err != nil {
		t.Fatalf("ReadInputs: %v", err)
	}
	return in
}

// testRole is a complete desired role.
func testRole(name, owner string) *input.DesiredRole {
	return &input.DesiredRole{Source: "test: ConfigMap shop/iambind-" + name, Role: fixture.Role(name, owner)}
}

// observedFrom is the role as IAM would report it after a perfect apply.
func observedFrom(d *input.DesiredRole) *iam.ObservedRole {
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
