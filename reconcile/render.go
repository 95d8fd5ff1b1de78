package reconcile

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// JSONFormatVersion is the version of the --output json schema
// (docs/plan-json.md). It changes only when a field is removed or changes
// meaning; new fields may be added within a version.
const JSONFormatVersion = 1

// RenderText writes the plan for humans.
func RenderText(w io.Writer, p *Plan) {
	discovery.RenderText(w, p.Discovery) // the issuers are published first
	for _, pc := range p.Providers {
		switch pc.Kind {
		case iam.KindCreate:
			fmt.Fprintf(w, "+ create OIDC provider %s (client IDs: %s)\n", pc.URL, strings.Join(pc.AddClientIDs, ", "))
		case iam.KindUpdate:
			fmt.Fprintf(w, "~ update OIDC provider %s: add client IDs %s\n", pc.URL, strings.Join(pc.AddClientIDs, ", "))
		case iam.KindDelete:
			fmt.Fprintf(w, "- delete OIDC provider %s (made by iambind, no longer this cluster's issuer)\n", pc.URL)
		default:
			fmt.Fprintf(w, "= no change OIDC provider %s\n", pc.URL)
		}
	}
	for _, rc := range p.Roles {
		fmt.Fprintf(w, "%s %s role %s (%s)", rc.Kind.Symbol(), rc.Kind.Verb(), rc.Name, rc.ARN)
		if rc.Adopt {
			fmt.Fprintf(w, " [adopt]")
		}
		fmt.Fprintln(w)
		if rc.Reason != "" {
			fmt.Fprintf(w, "    # %s\n", rc.Reason)
		}
		for _, c := range rc.Changes {
			c.WriteText(w)
		}
	}
	podidentity.RenderText(w, p.PodIdentity)
	for _, line := range OrphanLines(p) {
		fmt.Fprintln(w, line)
	}
	if pf := p.Preflight; pf != nil && pf.PoliciesReferenced > 0 {
		fmt.Fprintf(w, "Preflight: %d referenced policies exist (%d read from IAM, %d seen attached to roles).\n",
			pf.PoliciesReferenced, pf.PoliciesRead, pf.PoliciesReferenced-pf.PoliciesRead)
	}
	fmt.Fprintln(w, PlanSummary(p))
}

// OrphanLines says, per owner, which owned roles left the plan and stay
// (without --prune): "1 role owned by prod is no longer planned: shop-b;
// `--prune` deletes it".
func OrphanLines(p *Plan) []string {
	byOwner := map[string][]string{}
	var owners []string
	for _, o := range p.Orphans {
		if byOwner[o.Owner] == nil {
			owners = append(owners, o.Owner)
		}
		byOwner[o.Owner] = append(byOwner[o.Owner], o.Name)
	}
	sort.Strings(owners)
	var out []string
	for _, owner := range owners {
		names := byOwner[owner]
		if len(names) == 1 {
			out = append(out, fmt.Sprintf("1 role owned by %s is no longer planned: %s; `--prune` deletes it", owner, names[0]))
			continue
		}
		out = append(out, fmt.Sprintf("%d roles owned by %s are no longer planned: %s; `--prune` deletes them", len(names), owner, strings.Join(names, ", ")))
	}
	return out
}

// PlanSummary is the plan's closing line.
func PlanSummary(p *Plan) string {
	s := fmt.Sprintf("Plan: %d to create, %d to update, %d to replace, %d to delete, %d unchanged",
		p.Count(iam.KindCreate), p.Count(iam.KindUpdate), p.Count(iam.KindReplace), p.Count(iam.KindDelete), p.Count(iam.KindNoChange))
	var pcreate, pupdate, pdelete int
	for _, pc := range p.Providers {
		switch pc.Kind {
		case iam.KindCreate:
			pcreate++
		case iam.KindUpdate:
			pupdate++
		case iam.KindDelete:
			pdelete++
		}
	}
	if pcreate+pupdate > 0 {
		s += fmt.Sprintf("; OIDC providers: %d to create, %d to update", pcreate, pupdate)
	}
	if pdelete > 0 {
		s += fmt.Sprintf("; %d OIDC provider(s) to delete", pdelete)
	}
	if pi := podidentity.PlanSummary(p.PodIdentity); pi != "" {
		s += "; " + pi
	}
	if d := discovery.PlanSummary(p.Discovery); d != "" {
		s += "; " + d
	}
	switch {
	case !p.HasChanges() && len(p.Orphans) > 0:
		// Not "no changes": IAM holds owned roles the input no longer has.
		s += fmt.Sprintf(" (no changes to planned roles; %d owned role(s) no longer planned, kept without --prune)", len(p.Orphans))
	case !p.HasChanges():
		s += " (no changes)"
	}
	return s + "."
}

// ApplySummary is apply's closing line.
func ApplySummary(r *iam.Result, reads, writes int64) string {
	return fmt.Sprintf("roles: %d created, %d updated, %d deleted, %d unchanged; IAM calls: %d reads, %d writes",
		r.Created, r.Updated, r.Deleted, r.Unchanged, reads, writes)
}

// FailureReport is the end of a failed apply's output: per failed role (or
// OIDC provider) what was done and what was not, and the command that
// finishes the job once the cause is fixed (apply is idempotent).
func FailureReport(r *iam.Result, rerun string, interrupted bool) string {
	if len(r.Unfinished) == 0 {
		return ""
	}
	var b strings.Builder
	stopped := "failed:  "
	if interrupted {
		// Nothing failed: the run was asked to stop, and these are where it stopped.
		stopped = "stopped: "
		fmt.Fprintf(&b, "Apply was interrupted before %d item(s) were finished; IAM is partly changed:\n", len(r.Unfinished))
	} else {
		fmt.Fprintf(&b, "Apply stopped short for %d item(s); IAM is partly changed:\n", len(r.Unfinished))
	}
	keys := make([]string, 0, len(r.Unfinished))
	for k := range r.Unfinished {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		p := r.Unfinished[k]
		fmt.Fprintf(&b, "  %s:\n", k)
		done := "nothing"
		if len(p.Done) > 0 {
			done = strings.Join(p.Done, ", ")
		}
		fmt.Fprintf(&b, "    done:     %s\n", done)
		if len(p.NotDone) > 0 {
			fmt.Fprintf(&b, "    %s %s\n", stopped, p.NotDone[0])
		}
		if len(p.NotDone) > 1 {
			fmt.Fprintf(&b, "    not done: %s\n", strings.Join(p.NotDone[1:], ", "))
		}
	}
	if interrupted {
		fmt.Fprintf(&b, "To finish: run the same command again: %s\n", rerun)
	} else {
		fmt.Fprintf(&b, "To finish: fix the cause above, then run: %s\n", rerun)
	}
	return b.String()
}

// JSONSummary counts the plan's changes.
type JSONSummary struct {
	Create                int `json:"create"`
	Update                int `json:"update"`
	Replace               int `json:"replace"`
	Delete                int `json:"delete"`
	NoChange              int `json:"noChange"`
	OIDCProvidersToCreate int `json:"oidcProvidersToCreate"`
	OIDCProvidersToUpdate int `json:"oidcProvidersToUpdate"`
	// PodIdentityAssociations counts association changes (only when the plan has associations).
	PodIdentityAssociations *podidentity.Summary `json:"podIdentityAssociations,omitempty"`
}

// JSONCalls counts IAM operations.
type JSONCalls struct {
	Reads   int64 `json:"reads"`
	Writes  int64 `json:"writes"`
	Retries int64 `json:"retries"`
}

// JSONResult is what apply did (only in apply's output).
type JSONResult struct {
	Created   int       `json:"created"`
	Updated   int       `json:"updated"`
	Deleted   int       `json:"deleted"`
	Unchanged int       `json:"unchanged"`
	IAMCalls  JSONCalls `json:"iamCalls"`
	Errors    []string  `json:"errors"`
	// PodIdentityAssociations is what apply did to associations (only when the plan has some).
	PodIdentityAssociations *JSONPodIdentityResult `json:"podIdentityAssociations,omitempty"`
	// Unfinished: per failed role ("role <name>") or provider ("OIDC
	// provider <url>"), the calls done and not done; Rerun: the command
	// that finishes the job. Both only when something failed.
	Unfinished map[string]iam.Progress `json:"unfinished,omitempty"`
	Rerun      string                  `json:"rerun,omitempty"`
	// Discovery is what was published on S3; only with discovery plans.
	Discovery *JSONDiscoveryResult `json:"discovery,omitempty"`
}

// JSONPodIdentityResult is what apply did to EKS Pod Identity associations.
type JSONPodIdentityResult struct {
	Created   int       `json:"created"`
	Updated   int       `json:"updated"`
	Deleted   int       `json:"deleted"`
	Unchanged int       `json:"unchanged"`
	EKSCalls  JSONCalls `json:"eksCalls"`
}

// JSONDiscoveryResult is what apply did in S3.
type JSONDiscoveryResult struct {
	BucketsCreated   int `json:"bucketsCreated"`
	BucketsUpdated   int `json:"bucketsUpdated"`
	BucketsUnchanged int `json:"bucketsUnchanged"`
	ObjectsWritten   int `json:"objectsWritten"`
	ObjectsDeleted   int `json:"objectsDeleted"`
}

// JSONDocument is the --output json document (docs/plan-json.md).
type JSONDocument struct {
	FormatVersion int                  `json:"formatVersion"`
	Command       string               `json:"command"`
	HasChanges    bool                 `json:"hasChanges"`
	Summary       JSONSummary          `json:"summary"`
	Owners        []string             `json:"owners"`
	Prune         bool                 `json:"prune"`
	OIDCProviders []iam.ProviderChange `json:"oidcProviders"`
	Roles         []iam.RoleChange     `json:"roles"`
	Warnings      []string             `json:"warnings"`
	Errors        []string             `json:"errors"`
	// IAMCalls made while planning (plan) or in total (apply).
	IAMCalls JSONCalls   `json:"iamCalls"`
	Result   *JSONResult `json:"result,omitempty"`
	// PodIdentityAssociations are the EKS Pod Identity association changes
	// (only when the plan has associations), and EKSCalls the EKS calls made.
	PodIdentityAssociations []podidentity.Change `json:"podIdentityAssociations,omitempty"`
	EKSCalls                *JSONCalls           `json:"eksCalls,omitempty"`
	// Orphans are owned roles no longer planned (kept without --prune).
	Orphans []iam.OrphanRole `json:"orphans"`
	// Preflight counts what was checked before any write.
	Preflight *iam.PreflightSummary `json:"preflight,omitempty"`
	// Discovery and S3Calls appear only when the input plans self-hosted
	// issuers (reconcile/discovery).
	Discovery *discovery.Plan `json:"discovery,omitempty"`
	S3Calls   *JSONCalls      `json:"s3Calls,omitempty"`
}

// NewJSONDocument builds the machine-readable form of a plan.
func NewJSONDocument(command string, p *Plan) *JSONDocument {
	d := &JSONDocument{
		FormatVersion: JSONFormatVersion, Command: command, Owners: p.Owners, Prune: p.Prune,
		OIDCProviders: p.Providers, Roles: p.Roles, Warnings: p.Warnings, Errors: []string{},
		Discovery: p.Discovery,
	}
	if d.Owners == nil {
		d.Owners = []string{}
	}
	if d.OIDCProviders == nil {
		d.OIDCProviders = []iam.ProviderChange{}
	}
	if d.Roles == nil {
		d.Roles = []iam.RoleChange{}
	}
	if d.Warnings == nil {
		d.Warnings = []string{}
	}
	d.Orphans, d.Preflight = p.Orphans, p.Preflight
	if d.Orphans == nil {
		d.Orphans = []iam.OrphanRole{}
	}
	d.HasChanges = p.HasChanges()
	d.Summary = JSONSummary{Create: p.Count(iam.KindCreate), Update: p.Count(iam.KindUpdate), Replace: p.Count(iam.KindReplace),
		Delete: p.Count(iam.KindDelete), NoChange: p.Count(iam.KindNoChange)}
	if p.PodIdentity != nil && len(p.PodIdentity.Changes) > 0 {
		d.PodIdentityAssociations = p.PodIdentity.Changes
		d.Summary.PodIdentityAssociations = podidentity.Summarize(p.PodIdentity)
	}
	for _, pc := range p.Providers {
		switch pc.Kind {
		case iam.KindCreate:
			d.Summary.OIDCProvidersToCreate++
		case iam.KindUpdate:
			d.Summary.OIDCProvidersToUpdate++
		}
	}
	return d
}
