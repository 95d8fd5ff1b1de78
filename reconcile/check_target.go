package reconcile

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/iamglob"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
	"github.com/iambind/iambind/reconcile/safety"
)

// checkChain follows an association role the ServiceAccount reaches into
// its EKS Pod Identity target role, when the association has one: pod →
// association role → target role → policies. The chain holds when the
// association role may sts:AssumeRole (and sts:TagSession, with session
// tags on) the target role and the target's trust admits the association
// role; the sts:ExternalId pin is the association's, made at apply.
func checkChain(in *input.Input, r *input.DesiredRole, sub podidentity.Subject, res safety.CheckResult) safety.CheckResult {
	var assoc *generator.PodIdentityAssociation
	for i, a := range r.PodIdentityAssociations {
		if a.Namespace == sub.Namespace && a.ServiceAccount == sub.ServiceAccount && (a.Cluster == sub.Cluster || strings.HasSuffix(sub.Cluster, ":cluster/"+a.Cluster)) {
			assoc = &r.PodIdentityAssociations[i]
		}
	}
	if assoc == nil || assoc.TargetRoleARN == "" {
		res.Chain = append(res.Chain, "→ policies: "+policySummary(r.Role))
		return res
	}
	var target *input.DesiredRole
	for _, t := range in.Roles {
		if t.ARN == assoc.TargetRoleARN {
			target = t
		}
	}
	fail := func(why string) safety.CheckResult {
		res.Admitted = false
		res.Reasons = append(res.Reasons, fmt.Sprintf("EKS chains into target role %s, but %s", assoc.TargetRoleARN, why))
		return res
	}
	if target == nil {
		return fail("the plan does not hold that role")
	}
	actions := []string{"sts:AssumeRole"}
	if !assoc.DisableSessionTags {
		actions = append(actions, "sts:TagSession")
	}
	for _, action := range actions {
		if !allowsOn(r.Role, action, target.ARN) {
			return fail(fmt.Sprintf("role %s has no inline permission for %s on it", r.Name, action))
		}
		if !trustAdmits(target.Role, r.ARN, action) {
			return fail(fmt.Sprintf("its trust policy does not allow %s to %s", r.ARN, action))
		}
	}
	pin := "its trust requires the association's sts:ExternalId, " + podidentity.KnownAfterApply
	if ids := pinnedIDs(target.Role); len(ids) > 0 {
		pin = "its trust requires sts:ExternalId " + strings.Join(ids, ", ")
	}
	res.Chain = append(res.Chain,
		fmt.Sprintf("→ target role %s (%s): %s", target.Name, target.ARN, pin),
		"→ policies: "+policySummary(target.Role))
	if assoc.Policy != "" {
		res.Chain = append(res.Chain, "→ narrowed by the association's session policy")
	}
	return res
}

// allowsOn reports whether an inline policy of the role allows action on resource.
func allowsOn(r generator.Role, action, resource string) bool {
	for _, doc := range r.InlinePolicies {
		var p struct {
			Statement []struct {
				Effect   string
				Action   generator.StringList
				Resource generator.StringList
			}
		}
		if json.Unmarshal(doc, &p) != nil {
			continue
		}
		for _, st := range p.Statement {
			if st.Effect == "Allow" && slices.ContainsFunc(st.Action, func(a string) bool { return iamglob.Match(strings.ToLower(a), strings.ToLower(action)) }) &&
				slices.ContainsFunc(st.Resource, func(x string) bool { return iamglob.Match(x, resource) }) {
				return true
			}
		}
	}
	return false
}

// trustAdmits reports whether an Allow statement of the trust names principal for action.
func trustAdmits(r generator.Role, principal, action string) bool {
	for _, st := range r.TrustPolicy.Statement {
		if st.Effect == "Allow" && slices.Contains(st.Principal["AWS"], principal) &&
			slices.ContainsFunc(st.Action, func(a string) bool { return iamglob.Match(strings.ToLower(a), strings.ToLower(action)) }) {
			return true
		}
	}
	return false
}

func pinnedIDs(r generator.Role) []string {
	for _, st := range r.TrustPolicy.Statement {
		if ids := st.Condition["StringEquals"][generator.ConditionExternalID]; len(ids) > 0 {
			return ids
		}
	}
	return nil
}

// policySummary lists a role's managed and inline policies.
func policySummary(r generator.Role) string {
	var parts []string
	parts = append(parts, r.ManagedPolicyARNs...)
	for _, name := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
		parts = append(parts, "inline "+name)
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
