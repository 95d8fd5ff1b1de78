package input

import (
	"fmt"

	"github.com/iambind/iambind/generator"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// parsePlanRoles reads the roles of one plan ConfigMap: role.json, and the
// EKS Pod Identity target role when the binding has one (target-role.json
// in the same ConfigMap, so a binding's plan stays one object). The two
// must name each other: the association role's associations name the
// target role, and the target role's podIdentityTarget the association role.
func parsePlanRoles(file string, n *yaml.RNode) ([]*DesiredRole, error) {
	role, err := parsePlan(file, n)
	if err != nil {
		return nil, err
	}
	data := n.GetDataMap()
	if _, ok := data[generator.PlanKeyTargetRole]; !ok {
		if role.PodIdentityTarget != nil {
			return nil, fmt.Errorf("%s: %s: podIdentityTarget belongs in %s only", role.Source, generator.PlanKeyRole, generator.PlanKeyTargetRole)
		}
		for _, a := range role.PodIdentityAssociations {
			if a.TargetRoleARN != "" {
				return nil, fmt.Errorf("%s: association %s names target role %s but the plan has no %s", role.Source, a.Key(), a.TargetRoleARN, generator.PlanKeyTargetRole)
			}
		}
		return []*DesiredRole{role}, nil
	}
	target, err := parseRoleFiles(role.Source, data, generator.PlanKeyTargetRole, generator.PlanKeyTargetTrustPolicy)
	if err != nil {
		return nil, err
	}
	if err := checkTargetPair(role, target); err != nil {
		return nil, fmt.Errorf("%s: %v", role.Source, err)
	}
	return []*DesiredRole{role, target}, nil
}

// checkTargetPair refuses a hand-edited plan whose two roles do not match:
// a target role trusted by some other role, or associations that lead elsewhere.
func checkTargetPair(role, target *DesiredRole) error {
	t := target.PodIdentityTarget
	switch {
	case t == nil:
		return fmt.Errorf("%s has no podIdentityTarget", generator.PlanKeyTargetRole)
	case t.AssociationRoleARN != role.ARN:
		return fmt.Errorf("%s: podIdentityTarget.associationRoleArn is %s, not the plan's role %s", generator.PlanKeyTargetRole, t.AssociationRoleARN, role.ARN)
	case len(target.PodIdentityAssociations) > 0:
		return fmt.Errorf("%s: a target role has no associations of its own", generator.PlanKeyTargetRole)
	case role.PodIdentityTarget != nil:
		return fmt.Errorf("%s: podIdentityTarget belongs in %s only", generator.PlanKeyRole, generator.PlanKeyTargetRole)
	}
	if len(t.Associations) != len(role.PodIdentityAssociations) {
		return fmt.Errorf("%s lists %d associations but %s has %d", generator.PlanKeyTargetRole, len(t.Associations), generator.PlanKeyRole, len(role.PodIdentityAssociations))
	}
	for i, a := range role.PodIdentityAssociations {
		if a.TargetRoleARN != target.ARN {
			return fmt.Errorf("association %s has targetRoleArn %q, not the target role %s", a.Key(), a.TargetRoleARN, target.ARN)
		}
		if t.Associations[i].Key() != a.Key() {
			return fmt.Errorf("%s: podIdentityTarget.associations[%d] is %s, not %s", generator.PlanKeyTargetRole, i, t.Associations[i].Key(), a.Key())
		}
	}
	return nil
}
