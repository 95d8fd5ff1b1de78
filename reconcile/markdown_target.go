package reconcile

import "github.com/iambind/iambind/reconcile/iam"

// mdIsTarget reports whether a planned role is an EKS Pod Identity target role.
func mdIsTarget(rc iam.RoleChange) bool {
	return rc.Desired() != nil && rc.Desired().PodIdentityTarget != nil
}

// chainOrder lists the association roles (and every other role) before
// the target roles, so a chain's edge starts at the association role's
// own node.
func chainOrder(roles []iam.RoleChange) []iam.RoleChange {
	out := make([]iam.RoleChange, 0, len(roles))
	for _, rc := range roles {
		if !mdIsTarget(rc) {
			out = append(out, rc)
		}
	}
	for _, rc := range roles {
		if mdIsTarget(rc) {
			out = append(out, rc)
		}
	}
	return out
}

// podIdentityEdges are the access map's edges from the ServiceAccounts of
// a role's EKS Pod Identity associations to the role.
func podIdentityEdges(rc iam.RoleChange, rid string, node func(prefix, key, label, shape string) string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range rc.Desired().PodIdentityAssociations {
		sub := a.Namespace + "/" + a.ServiceAccount
		if seen[sub] {
			continue
		}
		seen[sub] = true
		sid := node("sa", sub, "ServiceAccount "+sub, "round")
		out = append(out, "  "+sid+" -->|\"EKS Pod Identity\"| "+rid)
	}
	return out
}
