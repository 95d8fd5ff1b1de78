package iam

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

const tagOwner = generator.TagOwner

// Op is an IAM API operation an Action performs.
type Op string

// The IAM operations apply may call, in the order they run for one role.
const (
	OpCreateOIDCProvider Op = "CreateOpenIDConnectProvider"
	OpDeleteOIDCProvider Op = "DeleteOpenIDConnectProvider"
	OpAddClientID        Op = "AddClientIDToOpenIDConnectProvider"
	OpRemoveFromProfile  Op = "RemoveRoleFromInstanceProfile"
	OpDeleteInline       Op = "DeleteRolePolicy"
	OpDetach             Op = "DetachRolePolicy"
	OpDeleteBoundary     Op = "DeleteRolePermissionsBoundary"
	OpDeleteRole         Op = "DeleteRole"
	OpCreateRole         Op = "CreateRole"
	OpTagRole            Op = "TagRole"
	OpUpdateRole         Op = "UpdateRole"
	OpPutBoundary        Op = "PutRolePermissionsBoundary"
	OpUpdateTrust        Op = "UpdateAssumeRolePolicy"
	OpAttach             Op = "AttachRolePolicy"
	OpPutInline          Op = "PutRolePolicy"
	OpUntagRole          Op = "UntagRole"
)

// Action is one IAM write.
type Action struct {
	Op   Op     `json:"op"`
	Role string `json:"role,omitempty"`
	// Target is what the call is about besides the role: a policy ARN, an
	// inline policy name, an instance profile, a boundary ARN, an OIDC
	// provider URL, or for tag calls the sorted keys joined by ",".
	Target string `json:"target,omitempty"`

	Document  string            `json:"-"` // trust or inline policy JSON
	Tags      map[string]string `json:"-"` // TagRole
	TagKeys   []string          `json:"-"` // UntagRole
	ClientIDs []string          `json:"-"` // OIDC provider audiences
	Desired   *generator.Role   `json:"-"` // CreateRole, UpdateRole
}

// ChangeKind is what happens to a role (or provider) as a whole, in the
// vocabulary every room shares (reconcile/change).
type ChangeKind = change.Kind

const (
	KindCreate   = change.Create
	KindUpdate   = change.Update
	KindReplace  = change.Replace
	KindDelete   = change.Delete
	KindNoChange = change.NoChange
)

// FieldChange is one field that differs. Documents carry a line diff.
type FieldChange = change.Field

// RoleChange is the planned change of one role.
type RoleChange struct {
	Name    string        `json:"name"`
	ARN     string        `json:"arn"`
	Owner   string        `json:"owner"`
	Source  string        `json:"source,omitempty"`
	Kind    ChangeKind    `json:"action"`
	Reason  string        `json:"reason,omitempty"`
	Adopt   bool          `json:"adopt,omitempty"`
	Changes []FieldChange `json:"changes"`
	Actions []Action      `json:"calls"`

	desired *input.DesiredRole
}

// Desired is the planned role this change is for (nil for a deletion).
func (rc *RoleChange) Desired() *input.DesiredRole { return rc.desired }

// ProviderChange is the planned change of one OIDC provider.
type ProviderChange struct {
	URL          string     `json:"url"`
	ARN          string     `json:"arn"`
	Kind         ChangeKind `json:"action"`
	AddClientIDs []string   `json:"addClientIds,omitempty"`
	Actions      []Action   `json:"calls"`
}

// Plan is the IAM part of what `plan` renders and `apply` executes: a
// value, with no client in it.
type Plan struct {
	Owners    []string         `json:"owners"`
	Prune     bool             `json:"prune"`
	Providers []ProviderChange `json:"oidcProviders"`
	Roles     []RoleChange     `json:"roles"` // sorted by name
	Warnings  []string         `json:"warnings,omitempty"`
	// Orphans are roles owned by the plan's owners that left the plan, when
	// not pruning: they stay in IAM, and the plan says so. Sorted by name.
	Orphans []OrphanRole `json:"orphans,omitempty"`
	// Preflight is what was checked before any write (preflight.go).
	Preflight *PreflightSummary `json:"preflight,omitempty"`
}

// OrphanRole is an owned role that is no longer planned (kept without --prune).
type OrphanRole struct {
	Name  string `json:"name"`
	ARN   string `json:"arn"`
	Owner string `json:"owner"`
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	for _, pc := range p.Providers {
		if len(pc.Actions) > 0 {
			return true
		}
	}
	for _, rc := range p.Roles {
		if len(rc.Actions) > 0 {
			return true
		}
	}
	return false
}

// Count returns how many roles get each kind of change.
func (p *Plan) Count(kind ChangeKind) int {
	return change.Count(p.Roles, func(rc *RoleChange) ChangeKind { return rc.Kind }, kind)
}

// Options change what Diff may do.
type Options struct {
	Prune bool // delete owned roles that left the plan
	Adopt bool // take over existing roles that lack this owner's tag
	// NoDocumentDiffs leaves FieldChange.Diff empty: only the text and
	// markdown outputs show it, and at 10,000 created roles the diffs are
	// tens of MB that JSON output never reads.
	NoDocumentDiffs bool
	// ProviderTags are the tags an OIDC provider created for that issuer
	// URL gets (nil: none), so that a later run can tell the providers it
	// made (the in-cluster Job with --cluster).
	ProviderTags func(url string) map[string]string
}

// documentDiff is the line diff of two documents, unless opts do without.
func (opts Options) documentDiff(before, after string) string {
	if opts.NoDocumentDiffs {
		return ""
	}
	return change.DocumentDiff(before, after)
}

// Diff compares the desired roles with the observed state and returns the
// ordered actions that make IAM match. It is pure. Refusals (a role owned by
// someone else without --adopt, a path change of a role not ours, prune
// without any plan) are returned together as one error; the plan is then
// not to be applied at all.
func Diff(in *input.Input, state *State, opts Options) (*Plan, error) {
	plan := &Plan{Owners: in.Owners(), Prune: opts.Prune}
	var errs []error

	plan.Providers = diffProviders(in, state, opts)

	planned := map[string]bool{}
	for _, r := range in.Roles {
		planned[strings.ToLower(r.Name)] = true
		rc, err := DiffRole(r, state.Role(r.Name), opts)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		plan.Roles = append(plan.Roles, rc)
	}

	if !opts.Prune {
		plan.Orphans = orphans(plan.Owners, planned, state)
	}
	if opts.Prune {
		switch {
		case !in.HasPlan():
			errs = append(errs, errors.New("--prune given but the input holds no plan (no ConfigMap labelled iambind.dev/plan=role): refusing to prune, since that would delete every role of the owner; check the -f paths"))
		case !state.AllRoles:
			errs = append(errs, errors.New("internal: --prune needs the state of every role in the account"))
		default:
			owners := map[string]bool{}
			for _, o := range plan.Owners {
				owners[o] = true
			}
			for key, o := range state.Roles {
				if planned[key] || !owners[o.Owner()] || !in.MayPrune(o.Name, o.ARN) {
					continue
				}
				plan.Roles = append(plan.Roles, RoleChange{
					Name: o.Name, ARN: o.ARN, Owner: o.Owner(), Kind: KindDelete,
					Reason:  "owned by " + o.Owner() + " and no longer in the plan",
					Changes: []FieldChange{}, Actions: deleteActions(o),
				})
			}
		}
	}
	sort.Slice(plan.Roles, func(i, j int) bool { return plan.Roles[i].Name < plan.Roles[j].Name })
	if len(errs) > 0 {
		return plan, errors.Join(errs...)
	}
	return plan, nil
}

// orphans lists the observed roles owned by one of owners that are not
// planned. The state holds them when observation listed the owners' roles
// (bulk reads, or the per-role path's listing under the plan's role paths).
func orphans(owners []string, planned map[string]bool, state *State) []OrphanRole {
	own := map[string]bool{}
	for _, o := range owners {
		own[o] = true
	}
	var out []OrphanRole
	for key, o := range state.Roles {
		if !planned[key] && own[o.Owner()] {
			out = append(out, OrphanRole{Name: o.Name, ARN: o.ARN, Owner: o.Owner()})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func diffProviders(in *input.Input, state *State, opts Options) []ProviderChange {
	type want struct {
		url string
		aud map[string]bool
	}
	wanted := map[string]*want{}
	for _, p := range in.OIDCProviders() {
		w := wanted[p.ARN]
		if w == nil {
			w = &want{url: p.URL, aud: map[string]bool{}}
			wanted[p.ARN] = w
		}
		for _, a := range p.Audiences {
			w.aud[a] = true
		}
	}
	arns := make([]string, 0, len(wanted))
	for arn := range wanted {
		arns = append(arns, arn)
	}
	sort.Strings(arns)
	out := make([]ProviderChange, 0, len(arns))
	for _, arn := range arns {
		w := wanted[arn]
		auds := slices.Sorted(maps.Keys(w.aud))
		pc := ProviderChange{URL: w.url, ARN: arn, Actions: []Action{}}
		obs := state.Providers[arn]
		switch {
		case obs == nil:
			pc.Kind = KindCreate
			pc.AddClientIDs = auds
			create := Action{Op: OpCreateOIDCProvider, Target: w.url, ClientIDs: auds}
			if opts.ProviderTags != nil {
				create.Tags = opts.ProviderTags(w.url)
			}
			pc.Actions = append(pc.Actions, create)
		default:
			have := map[string]bool{}
			for _, c := range obs.ClientIDs {
				have[c] = true
			}
			for _, a := range auds {
				if !have[a] {
					pc.AddClientIDs = append(pc.AddClientIDs, a)
					pc.Actions = append(pc.Actions, Action{Op: OpAddClientID, Target: arn, ClientIDs: []string{a}})
				}
			}
			pc.Kind = KindNoChange
			if len(pc.Actions) > 0 {
				pc.Kind = KindUpdate
			}
		}
		out = append(out, pc)
	}
	return out
}

// DiffRole plans one role: its change, or why it is refused (a role of
// another owner without adopt, a path IAM cannot change).
func DiffRole(r *input.DesiredRole, o *ObservedRole, opts Options) (RoleChange, error) {
	rc := RoleChange{Name: r.Name, ARN: r.ARN, Owner: r.Owner(), Source: r.Source,
		Changes: []FieldChange{}, Actions: []Action{}, desired: r}
	if o == nil {
		rc.Kind = KindCreate
		rc.Changes = createChanges(&r.Role, opts)
		rc.Actions = createActions(&r.Role)
		return rc, nil
	}
	owned := o.Owner() == r.Owner()
	if !owned && !opts.Adopt {
		current := "it has no " + tagOwner + " tag"
		if o.Owner() != "" {
			current = fmt.Sprintf("its %s tag is %q", tagOwner, o.Owner())
		}
		return rc, fmt.Errorf("role %s (%s) already exists and is not owned by %q (%s): refusing to change it; re-run with --adopt to take it over",
			r.Name, o.ARN, r.Owner(), current)
	}
	if o.Path != r.Path {
		if !owned {
			return rc, fmt.Errorf("role %s exists at path %s but the plan puts it at %s: IAM cannot move a role and --adopt never deletes a role iambind does not own; delete it by hand or set role.path to %s",
				r.Name, o.Path, r.Path, o.Path)
		}
		// IAM has no way to change a role's path: replace it (it is ours).
		rc.Kind = KindReplace
		rc.Reason = fmt.Sprintf("path %s → %s: IAM cannot move a role, so it is deleted and created again", o.Path, r.Path)
		rc.Changes = append([]FieldChange{{Field: "path", Before: o.Path, After: r.Path}}, createChanges(&r.Role, opts)...)
		rc.Actions = append(deleteActions(o), createActions(&r.Role)...)
		return rc, nil
	}
	rc.Adopt = !owned
	rc.Changes, rc.Actions = updateRole(&r.Role, o, opts)
	rc.Kind = KindNoChange
	if len(rc.Actions) > 0 {
		rc.Kind = KindUpdate
	}
	return rc, nil
}

// TrustDocument is the trust policy as apply sends it.
func TrustDocument(r *generator.Role) string {
	b, _ := generator.MarshalJSON(r.TrustPolicy, false)
	return string(b)
}

func createActions(r *generator.Role) []Action {
	acts := []Action{{Op: OpCreateRole, Role: r.Name, Desired: r, Document: TrustDocument(r), Tags: r.Tags}}
	for _, arn := range slices.Compact(slices.Sorted(slices.Values(r.ManagedPolicyARNs))) {
		acts = append(acts, Action{Op: OpAttach, Role: r.Name, Target: arn})
	}
	for _, name := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
		acts = append(acts, Action{Op: OpPutInline, Role: r.Name, Target: name, Document: string(r.InlinePolicies[name])})
	}
	return acts
}

func createChanges(r *generator.Role, opts Options) []FieldChange {
	ch := []FieldChange{
		{Field: "path", After: r.Path},
		{Field: "description", After: r.Description},
		{Field: "maxSessionDuration", After: r.MaxSessionDuration},
	}
	if r.PermissionsBoundary != "" {
		ch = append(ch, FieldChange{Field: "permissionsBoundary", After: r.PermissionsBoundary})
	}
	trust := TrustDocument(r)
	ch = append(ch, FieldChange{Field: "trustPolicy", After: json.RawMessage(trust), Diff: opts.documentDiff("", trust)})
	for _, arn := range slices.Compact(slices.Sorted(slices.Values(r.ManagedPolicyARNs))) {
		ch = append(ch, FieldChange{Field: "managedPolicyArns", After: arn})
	}
	for _, name := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
		doc := string(r.InlinePolicies[name])
		ch = append(ch, FieldChange{Field: "inlinePolicies." + name, After: json.RawMessage(doc), Diff: opts.documentDiff("", doc)})
	}
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		ch = append(ch, FieldChange{Field: "tags." + k, After: r.Tags[k]})
	}
	return ch
}

// deleteActions empties and deletes a role, in the order IAM requires.
func deleteActions(o *ObservedRole) []Action {
	var acts []Action
	for _, name := range slices.Sorted(maps.Keys(o.InlinePolicies)) {
		acts = append(acts, Action{Op: OpDeleteInline, Role: o.Name, Target: name})
	}
	for _, arn := range o.ManagedPolicyARNs {
		acts = append(acts, Action{Op: OpDetach, Role: o.Name, Target: arn})
	}
	for _, ip := range slices.Compact(slices.Sorted(slices.Values(o.InstanceProfiles))) {
		acts = append(acts, Action{Op: OpRemoveFromProfile, Role: o.Name, Target: ip})
	}
	return append(acts, Action{Op: OpDeleteRole, Role: o.Name})
}

// updateRole diffs an existing role field by field. Writes are ordered so
// that the owner tag lands first (adoption) and removals come last.
func updateRole(r *generator.Role, o *ObservedRole, opts Options) ([]FieldChange, []Action) {
	ch := []FieldChange{}
	acts := []Action{}

	// Tags first: when adopting, the role is ours before anything else changes.
	set := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(r.Tags)) {
		if v, ok := o.Tags[k]; !ok || v != r.Tags[k] {
			set[k] = r.Tags[k]
			fc := FieldChange{Field: "tags." + k, After: r.Tags[k]}
			if ok {
				fc.Before = v
			}
			ch = append(ch, fc)
		}
	}
	if len(set) > 0 {
		acts = append(acts, Action{Op: OpTagRole, Role: r.Name, Target: strings.Join(slices.Sorted(maps.Keys(set)), ","), Tags: set})
	}

	if o.Description != r.Description || o.MaxSessionDuration != r.MaxSessionDuration {
		if o.Description != r.Description {
			ch = append(ch, FieldChange{Field: "description", Before: o.Description, After: r.Description})
		}
		if o.MaxSessionDuration != r.MaxSessionDuration {
			ch = append(ch, FieldChange{Field: "maxSessionDuration", Before: o.MaxSessionDuration, After: r.MaxSessionDuration})
		}
		// UpdateRole resets omitted fields: it always carries both.
		acts = append(acts, Action{Op: OpUpdateRole, Role: r.Name, Desired: r})
	}

	if o.PermissionsBoundary != r.PermissionsBoundary {
		ch = append(ch, FieldChange{Field: "permissionsBoundary", Before: o.PermissionsBoundary, After: r.PermissionsBoundary})
		if r.PermissionsBoundary == "" {
			acts = append(acts, Action{Op: OpDeleteBoundary, Role: r.Name, Target: o.PermissionsBoundary})
		} else {
			acts = append(acts, Action{Op: OpPutBoundary, Role: r.Name, Target: r.PermissionsBoundary})
		}
	}

	// Trust policies compare by what they admit (change.SameTrust): a role
	// trusting each ServiceAccount in a statement of its own is not rewritten
	// into the one statement iambind would write.
	trust := TrustDocument(r)
	if same, err := change.SameTrust(o.TrustPolicy, trust); err != nil || !same {
		ch = append(ch, FieldChange{Field: "trustPolicy", Before: docValue(o.TrustPolicy), After: json.RawMessage(trust),
			Diff: opts.documentDiff(o.TrustPolicy, trust)})
		acts = append(acts, Action{Op: OpUpdateTrust, Role: r.Name, Document: trust})
	}

	have := map[string]bool{}
	for _, a := range o.ManagedPolicyARNs {
		have[a] = true
	}
	want := map[string]bool{}
	for _, a := range slices.Compact(slices.Sorted(slices.Values(r.ManagedPolicyARNs))) {
		want[a] = true
		if !have[a] {
			ch = append(ch, FieldChange{Field: "managedPolicyArns", After: a})
			acts = append(acts, Action{Op: OpAttach, Role: r.Name, Target: a})
		}
	}

	for _, name := range slices.Sorted(maps.Keys(r.InlinePolicies)) {
		doc := string(r.InlinePolicies[name])
		cur, ok := o.InlinePolicies[name]
		if ok {
			if same, err := change.SameDocument(cur, doc); err == nil && same {
				continue
			}
		}
		fc := FieldChange{Field: "inlinePolicies." + name, After: json.RawMessage(doc), Diff: opts.documentDiff(cur, doc)}
		if ok {
			fc.Before = docValue(cur)
		}
		ch = append(ch, fc)
		acts = append(acts, Action{Op: OpPutInline, Role: r.Name, Target: name, Document: doc})
	}

	for _, a := range o.ManagedPolicyARNs {
		if !want[a] {
			ch = append(ch, FieldChange{Field: "managedPolicyArns", Before: a})
			acts = append(acts, Action{Op: OpDetach, Role: r.Name, Target: a})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.InlinePolicies)) {
		if _, ok := r.InlinePolicies[name]; !ok {
			ch = append(ch, FieldChange{Field: "inlinePolicies." + name, Before: docValue(o.InlinePolicies[name]),
				Diff: opts.documentDiff(o.InlinePolicies[name], "")})
			acts = append(acts, Action{Op: OpDeleteInline, Role: r.Name, Target: name})
		}
	}

	var untag []string
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		// aws: tags are AWS's own and cannot be removed.
		if _, ok := r.Tags[k]; !ok && !strings.HasPrefix(strings.ToLower(k), "aws:") {
			untag = append(untag, k)
			ch = append(ch, FieldChange{Field: "tags." + k, Before: o.Tags[k]})
		}
	}
	if len(untag) > 0 {
		acts = append(acts, Action{Op: OpUntagRole, Role: r.Name, Target: strings.Join(untag, ","), TagKeys: untag})
	}
	return ch, acts
}

// docValue embeds a document in JSON output as an object when it parses.
func docValue(doc string) any {
	if c, err := change.CanonicalJSON([]byte(doc)); err == nil {
		return json.RawMessage(c)
	}
	return doc
}

// PruneProvider is the planned deletion of an OIDC provider iambind made
// that nothing plans any more.
func PruneProvider(url, arn string) ProviderChange {
	return ProviderChange{URL: url, ARN: arn, Kind: KindDelete, Actions: []Action{{Op: OpDeleteOIDCProvider, Target: arn}}}
}
