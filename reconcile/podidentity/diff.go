package podidentity

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
)

// Kind is what happens to one association (the vocabulary every room shares).
type Kind = change.Kind

const (
	KindCreate   = change.Create
	KindUpdate   = change.Update
	KindDelete   = change.Delete
	KindNoChange = change.NoChange
)

// Change is the planned change of one association.
type Change struct {
	Cluster        string `json:"cluster"`
	Region         string `json:"region"`
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
	Kind           Kind   `json:"action"`
	// RoleARN is the role the association gets (create, update, no-change),
	// RoleARNBefore the one it has now (update, delete).
	RoleARN       string `json:"roleArn,omitempty"`
	RoleARNBefore string `json:"roleArnBefore,omitempty"`
	AssociationID string `json:"associationId,omitempty"`
	Owner         string `json:"owner"`
	Reason        string `json:"reason,omitempty"`
	Adopt         bool   `json:"adopt,omitempty"`
	// Chaining (spec.podIdentity): the target role, session tags and session
	// policy the association gets, and what it has now when they change.
	TargetRoleARN      string    `json:"targetRoleArn,omitempty"`
	DisableSessionTags bool      `json:"disableSessionTags,omitempty"`
	Policy             string    `json:"policy,omitempty"`
	Before             *Settings `json:"before,omitempty"`
	// ExternalID is the association's externalId (with a target role):
	// KnownAfterApply when EKS has yet to make it.
	ExternalID string `json:"externalId,omitempty"`

	// Role is the planned role the association points at (empty for a
	// delete): apply skips the change when that role failed.
	Role string            `json:"-"`
	ARN  string            `json:"-"` // the association's ARN (TagResource on adopt)
	Tags map[string]string `json:"-"` // set at creation, or on adopt
}

// Key identifies the association: cluster/namespace/serviceAccount.
func (c *Change) Key() string { return c.Cluster + "/" + c.Namespace + "/" + c.ServiceAccount }

// Plan is the Pod Identity part of a reconcile plan.
type Plan struct {
	Changes []Change `json:"associations"` // sorted by cluster, namespace, ServiceAccount
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	if p == nil {
		return false
	}
	for _, c := range p.Changes {
		if c.Kind != KindNoChange {
			return true
		}
	}
	return false
}

// Count returns how many associations get each kind of change.
func (p *Plan) Count(kind Kind) int {
	if p == nil {
		return 0
	}
	return change.Count(p.Changes, func(c *Change) Kind { return c.Kind }, kind)
}

// Options change what Diff may do (the same flags as for roles).
type Options struct {
	Prune bool // delete owned associations that left the plan
	Adopt bool // take over existing associations not owned by the planned owner
}

// Diff compares the desired associations with the observed ones. It is
// pure. owners are the plan's owners: prune deletes only associations
// tagged with one of them. Refusals (an association of the same
// ServiceAccount that iambind does not own, without --adopt) are returned
// together; the plan is then not to be applied.
func Diff(desired []*Desired, state *State, owners []string, opts Options) (*Plan, error) {
	plan := &Plan{Changes: []Change{}}
	var errs []error
	wanted := map[string]bool{}
	for _, d := range desired {
		wanted[d.Key()] = true
		c := Change{Cluster: d.Cluster, Region: d.Region, Namespace: d.Namespace, ServiceAccount: d.ServiceAccount,
			RoleARN: d.RoleARN, Owner: d.Owner, Role: d.RoleName, Tags: d.Tags(),
			TargetRoleARN: d.TargetRoleARN, DisableSessionTags: d.DisableSessionTags, Policy: d.Policy}
		o := state.Associations[d.Key()]
		switch {
		case o == nil:
			c.Kind = KindCreate
			if d.TargetRoleARN != "" {
				c.ExternalID = KnownAfterApply
			}
		case o.Owner() != d.Owner && !opts.Adopt:
			current := "it has no " + generator.TagOwner + " tag"
			if o.Owner() != "" {
				current = fmt.Sprintf("its %s tag is %q", generator.TagOwner, o.Owner())
			}
			errs = append(errs, fmt.Errorf("EKS Pod Identity association %s (%s, role %s) already exists and is not owned by %q (%s): refusing to change it; re-run with --adopt to take it over",
				d.Key(), o.ID, o.RoleARN, d.Owner, current))
			continue
		default:
			c.AssociationID, c.ARN, c.RoleARNBefore = o.ID, o.ARN, o.RoleARN
			c.Adopt = o.Owner() != d.Owner
			c.ExternalID = o.ExternalID
			if d.TargetRoleARN != "" && o.ExternalID == "" {
				c.ExternalID = KnownAfterApply
			}
			settingsDiffer := !sameSettings(observedSettings(o), desiredSettings(d))
			if settingsDiffer {
				before := observedSettings(o)
				c.Before = &before
			}
			switch {
			case o.RoleARN != d.RoleARN:
				c.Kind = KindUpdate
				c.Reason = "the association points at another role (edited outside iambind, or the role was renamed)"
			case settingsDiffer:
				c.Kind = KindUpdate
				c.Reason = "its target role, session tags or session policy differ from the plan"
			case c.Adopt:
				c.Kind = KindUpdate
				c.Reason = "adopted: tagged with owner " + d.Owner
			default:
				c.Kind = KindNoChange
				c.RoleARNBefore = ""
			}
		}
		plan.Changes = append(plan.Changes, c)
	}
	if opts.Prune {
		if !state.Complete {
			errs = append(errs, errors.New("internal: --prune needs every association of the plan's EKS clusters with its tags"))
		}
		for _, o := range state.Associations {
			if wanted[o.Key()] || !slices.Contains(owners, o.Owner()) {
				continue // planned, or not ours: never touched
			}
			plan.Changes = append(plan.Changes, Change{
				Cluster: o.Cluster, Region: o.Region, Namespace: o.Namespace, ServiceAccount: o.ServiceAccount,
				Kind: KindDelete, RoleARNBefore: o.RoleARN, AssociationID: o.ID, ARN: o.ARN, Owner: o.Owner(),
				Reason: "owned by " + o.Owner() + " and no longer in the plan",
			})
		}
	}
	slices.SortFunc(plan.Changes, func(a, b Change) int {
		return generator.ComparePodIdentityAssociations(
			generator.PodIdentityAssociation{Cluster: a.Cluster, Namespace: a.Namespace, ServiceAccount: a.ServiceAccount},
			generator.PodIdentityAssociation{Cluster: b.Cluster, Namespace: b.Namespace, ServiceAccount: b.ServiceAccount})
	})
	if len(errs) > 0 {
		msgs := make([]string, len(errs))
		for i, e := range errs {
			msgs[i] = e.Error()
		}
		slices.Sort(msgs)
		return plan, errors.New(strings.Join(msgs, "\n"))
	}
	return plan, nil
}

// MissingFor lists the associations of a role that do not exist yet with
// that role (to be created, or pointed at it by an update), as keys.
func (p *Plan) MissingFor(roleARN string) []string {
	var out []string
	if p == nil {
		return nil
	}
	for _, c := range p.Changes {
		if c.RoleARN == roleARN && (c.Kind == KindCreate || (c.Kind == KindUpdate && c.RoleARNBefore != roleARN)) {
			out = append(out, c.Key())
		}
	}
	return out
}
