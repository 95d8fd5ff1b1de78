package reconcile

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

// TestValidatePodIdentityPlans: a rendered podIdentity/both plan is valid,
// and hand edits that would widen who gets the role, or name what EKS
// cannot, are refused before anything observes AWS.
func TestValidatePodIdentityPlans(t *testing.T) {
	cluster := clusterYAML("prod-usw2", testIssuer) + "  region: us-west-2\n  eksClusterName: prod\n"
	for _, mode := range []string{"podIdentity", "both"} {
		in := readString(t, render(t, cluster, strings.Replace(bindingYAML("shop", "orders"), "spec:\n", "spec:\n  mode: "+mode+"\n", 1)))
		if p := safety.Validate(in, generator.DefaultMaxTrustPolicySize); len(p.Errors) != 0 {
			t.Fatalf("mode %s: the function's own plan is invalid: %v", mode, p.Errors)
		}
	}
	tests := []struct {
		name string
		edit func(*input.DesiredRole)
		want string
	}{
		{"no source account", func(d *input.DesiredRole) {
			delete(d.TrustPolicy.Statement[0].Condition["StringEquals"], generator.ConditionSourceAcct)
		}, "(EKS Pod Identity): must pin aws:SourceAccount"},
		{"any cluster", func(d *input.DesiredRole) { delete(d.TrustPolicy.Statement[0].Condition, "ArnEquals") }, "must pin aws:SourceArn"},
		{"statement without associations", func(d *input.DesiredRole) { d.PodIdentityAssociations = nil }, "podIdentityAssociations is empty"},
		{"associations without statement", func(d *input.DesiredRole) {
			d.TrustPolicy.Statement[0] = generator.Statement{Effect: "Allow", Principal: map[string]generator.StringList{"Federated": {"x"}}, Action: generator.StringList{"sts:AssumeRoleWithWebIdentity"}}
		}, "no EKS Pod Identity statement"},
		{"bad namespace", func(d *input.DesiredRole) { d.PodIdentityAssociations[0].Namespace = "../kube-system" }, `podIdentityAssociations[0]: namespace "../kube-system"`},
		{"bad cluster", func(d *input.DesiredRole) { d.PodIdentityAssociations[0].Cluster = "a/b" }, `cluster "a/b" is not an EKS cluster name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := readString(t, render(t, cluster, strings.Replace(bindingYAML("shop", "orders"), "spec:\n", "spec:\n  mode: podIdentity\n", 1)))
			tt.edit(in.Roles[0])
			errs := strings.Join(safety.Validate(in, generator.DefaultMaxTrustPolicySize).Errors, "\n")
			if !strings.Contains(errs, tt.want) {
				t.Errorf("errors %q lack %q", errs, tt.want)
			}
		})
	}
}
