package safety

import (
	"slices"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

// validateTargetTrust checks the trust of an EKS Pod Identity target role:
// one Allow statement whose only principal is the association role, with
// sts:AssumeRole (and sts:TagSession) and no condition but the
// sts:ExternalId pin. A target role trusts no OIDC provider and has no
// associations of its own.
func validateTargetTrust(p *Problems, where string, r *input.DesiredRole) {
	t := r.PodIdentityTarget
	if len(r.OIDCProviders) > 0 || len(r.PodIdentityAssociations) > 0 {
		p.errorf("%s: an EKS Pod Identity target role has no oidcProviders or podIdentityAssociations", where)
	}
	if _, _, ok := input.ARNAccount(t.AssociationRoleARN); !ok {
		p.errorf("%s: podIdentityTarget.associationRoleArn %q is not a role ARN", where, t.AssociationRoleARN)
	}
	if len(r.TrustPolicy.Statement) != 1 {
		p.errorf("%s: the trust policy of an EKS Pod Identity target role has %d statements; iambind writes one", where, len(r.TrustPolicy.Statement))
		return
	}
	st := r.TrustPolicy.Statement[0]
	if st.Effect != "Allow" {
		p.errorf("%s: trust policy statement 1: effect %q must be Allow", where, st.Effect)
	}
	if len(st.Principal) != 1 || !slices.Equal([]string(st.Principal["AWS"]), []string{t.AssociationRoleARN}) {
		p.errorf("%s: trust policy statement 1: principal must be exactly the association role %s", where, t.AssociationRoleARN)
	}
	actions := slices.Sorted(slices.Values(st.Action))
	if !slices.Equal(actions, []string{"sts:AssumeRole"}) && !slices.Equal(actions, []string(generator.PodIdentityActions)) {
		p.errorf("%s: trust policy statement 1: action must be sts:AssumeRole (and sts:TagSession), not %v", where, actions)
	}
	for op, keys := range st.Condition {
		for key := range keys {
			if op != "StringEquals" || key != generator.ConditionExternalID {
				p.errorf("%s: trust policy statement 1: condition %s on %s is not one iambind writes", where, op, key)
			}
		}
	}
	if len(t.Associations) == 0 {
		p.errorf("%s: podIdentityTarget lists no associations", where)
	}
}
