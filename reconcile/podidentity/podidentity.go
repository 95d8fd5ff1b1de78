// Package podidentity is the EKS Pod Identity room of the reconcile job: the
// associations the plan asks for (role.json podIdentityAssociations), the
// ones EKS has, a pure diff between them, and the calls that close the gap.
//
// It follows the reconcile package's observe → diff → act shape:
//
//   - podidentity.go: desired associations from the planned roles, checks;
//   - observe.go:     ListPodIdentityAssociations (+ Describe for details and tags);
//   - diff.go:        desired × observed → a Plan of create/update/delete/no-change;
//   - apply.go:       runs a Plan through the aws-sdk-go-v2 EKS client;
//   - render.go:      the Plan in text and JSON;
//   - trust.go:       the Pod Identity trust statement: shape checks and `check`.
//
// Ownership works as for roles: associations iambind creates carry the
// iambind.dev/owner tag, an association it does not own is never changed
// without --adopt, and --prune deletes only owned associations that left the plan.
package podidentity

import (
	"fmt"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
)

// Desired is one association the plan asks for.
type Desired struct {
	generator.PodIdentityAssociation
	Region   string // of the EKS cluster, from its ARN in the role's trust policy
	RoleName string
	RoleARN  string
	Owner    string
	Binding  string
	Source   string // where the plan came from, for messages
}

// Key identifies an association: EKS allows one per cluster, namespace and ServiceAccount.
func (d *Desired) Key() string { return d.PodIdentityAssociation.Key() }

// Tags are the tags an association gets at creation: ownership, like roles.
func (d *Desired) Tags() map[string]string {
	return map[string]string{
		generator.TagOwner:     d.Owner,
		generator.TagBinding:   d.Binding,
		generator.TagManagedBy: generator.ManagedByValue,
	}
}

// Role is what this room needs of a planned role.
type Role struct {
	generator.Role
	Source string
}

// DesiredAssociations lists the associations of every planned role, sorted.
// The region of each comes from the cluster's ARN in the role's own trust
// policy (aws:SourceArn), so role.json needs no other field. Two roles
// asking for one association, or an association whose cluster the trust
// policy does not name, are errors.
func DesiredAssociations(roles []Role) ([]*Desired, error) {
	var out []*Desired
	var errs []string
	byKey := map[string]*Desired{}
	for _, r := range roles {
		regions := clusterRegions(r.TrustPolicy)
		for _, a := range r.PodIdentityAssociations {
			d := &Desired{PodIdentityAssociation: a, RoleName: r.Name, RoleARN: r.ARN,
				Owner: r.Owner(), Binding: r.Binding(), Source: r.Source}
			region, ok := regions[a.Cluster]
			switch {
			case !ok:
				errs = append(errs, fmt.Sprintf("role %s (%s): podIdentityAssociations names EKS cluster %q but the trust policy's %s does not name that cluster",
					r.Name, r.Source, a.Cluster, generator.ConditionSourceArn))
				continue
			case region == "":
				errs = append(errs, fmt.Sprintf("role %s (%s): EKS cluster %q appears in several regions in the trust policy", r.Name, r.Source, a.Cluster))
				continue
			}
			d.Region = region
			if prev, dup := byKey[d.Key()]; dup {
				if prev.RoleARN != d.RoleARN {
					errs = append(errs, fmt.Sprintf("EKS Pod Identity association %s is planned for two roles, %s (%s) and %s (%s): EKS allows one per ServiceAccount",
						d.Key(), prev.RoleName, prev.Source, d.RoleName, d.Source))
				}
				continue
			}
			byKey[d.Key()] = d
			out = append(out, d)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	slices.SortFunc(out, func(a, b *Desired) int {
		return generator.ComparePodIdentityAssociations(a.PodIdentityAssociation, b.PodIdentityAssociation)
	})
	return out, nil
}

// clusterRegions maps each EKS cluster name in the trust policy's Pod
// Identity statements to its region ("" when two regions claim the name).
func clusterRegions(doc generator.PolicyDocument) map[string]string {
	out := map[string]string{}
	for _, st := range doc.Statement {
		if !generator.IsPodIdentityStatement(st) {
			continue
		}
		for _, arns := range conditionValues(st, generator.ConditionSourceArn) {
			for _, arn := range arns {
				region, name, ok := generator.EKSClusterOfARN(arn)
				if !ok {
					continue
				}
				if prev, seen := out[name]; seen && prev != region {
					region = ""
				}
				out[name] = region
			}
		}
	}
	return out
}

// conditionValues returns the values of a condition key under every operator.
func conditionValues(st generator.Statement, key string) [][]string {
	var out [][]string
	for _, op := range slices.Sorted(mapsKeys(st.Condition)) {
		if v, ok := st.Condition[op][key]; ok {
			out = append(out, v)
		}
	}
	return out
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Observed is an association as EKS has it now.
type Observed struct {
	Cluster, Region, Namespace, ServiceAccount string
	ID, ARN, RoleARN                           string
	Tags                                       map[string]string
	// TargetRoleARN, DisableSessionTags, Policy and ExternalID are the
	// association's chaining settings (ExternalID exists with a target role).
	TargetRoleARN, Policy, ExternalID string
	DisableSessionTags                bool
}

// Key identifies an association: cluster/namespace/serviceAccount.
func (o *Observed) Key() string { return o.Cluster + "/" + o.Namespace + "/" + o.ServiceAccount }

// Owner is the association's iambind.dev/owner tag, "" when it has none.
func (o *Observed) Owner() string { return o.Tags[generator.TagOwner] }

// State is what observation found, by key.
type State struct {
	Associations map[string]*Observed
	// Complete is true when every association of the observed clusters was
	// read in full (tags included), which prune needs.
	Complete bool
}
