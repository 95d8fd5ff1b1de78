package reconcile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

// preflight is planOrApply's hook: policy checks and account quotas, before
// anything is rendered or written. It records what it checked on the plan
// and returns the refusal of the run.
func preflight(ctx context.Context, pf *iam.Preflighter, summary *iam.AccountSummary, in *input.Input, state *iam.State, plan *Plan, stderr io.Writer) error {
	res, err := pf.CheckPolicies(ctx, in, state)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	for _, w := range res.Warnings {
		fmt.Fprintf(stderr, "iambind: warning: %s\n", w)
	}
	plan.Warnings = append(plan.Warnings, res.Warnings...)
	quota, err := iam.CheckQuotas(ctx, summary, plan.Plan, state)
	if err != nil {
		return err
	}
	plan.Preflight = &iam.PreflightSummary{PoliciesReferenced: res.Referenced, PoliciesRead: res.Read, AccountSummaryRead: summary.WasRead()}
	if perr := res.Err(); perr != nil || len(quota) > 0 {
		var parts []string
		if perr != nil {
			parts = append(parts, perr.Error())
		}
		if len(quota) > 0 {
			parts = append(parts, "account quotas: the plan does not fit, nothing was changed:\n  "+strings.Join(quota, "\n  "))
		}
		return errors.New(strings.Join(parts, "\n"))
	}
	return nil
}

// preflightClusterPlans is the --from-cluster hook: a plan whose role
// references a policy IAM cannot attach fails alone (its ConfigMap gets the
// reason), the others go on. It runs after observation, before Diff.
func (r *clusterRun) preflightPlans(ctx context.Context, pf *iam.Preflighter, state *iam.State) error {
	res, err := pf.CheckPolicies(ctx, r.input(), state)
	if err != nil {
		return fmt.Errorf("preflight: %w", err)
	}
	r.warn(res.Warnings...)
	for _, p := range r.live() {
		if msgs := res.PerRole[p.role.Name]; len(msgs) > 0 {
			p.refuse(fmt.Errorf("preflight: %s", strings.Join(msgs, "; ")))
		}
	}
	r.preflight = &iam.PreflightSummary{PoliciesReferenced: res.Referenced, PoliciesRead: res.Read}
	return nil
}

// preflightQuotas checks the account's quotas for the accepted plans, and
// refuses the plans that do not fit rather than the run: a role over the
// per-role quota fails its own plans, and when the account has room for
// fewer new roles than the plans ask for, the room is shared out one role
// per namespace in turn (FairShare), so one namespace's thirty plans cannot
// block everyone's change. Plans already in IAM keep converging. It also
// keeps the orphans truthful: a role some plan of the cluster still plans
// (even a refused one) did not leave the input, and with --namespace the
// other namespaces' plans were not read at all.
func (r *clusterRun) preflightQuotas(ctx context.Context, summary *iam.AccountSummary, state *iam.State, plan *Plan, namespaceScoped bool) error {
	// A refused plan's namespace keeps its roles (limitPrune), which takes
	// room back: a few passes settle it, each refusing only more.
	for range 4 {
		f := iam.FiguresOf(plan.Plan, state)
		// Sharing needs the account's figures whenever roles are created
		// (one read; a no-op run creates none and reads nothing).
		if f.Creates == 0 && !iam.QuotaNeedsSummary(f) {
			break
		}
		m, err := summary.Get(ctx)
		if err != nil {
			return fmt.Errorf("preflight: %w", err)
		}
		if !r.shareQuotas(plan, f, m) {
			break
		}
		r.limitPrune(plan, state)
	}
	if r.preflight != nil {
		r.preflight.AccountSummaryRead = summary.WasRead()
		plan.Preflight = r.preflight
	}
	planned := map[string]bool{}
	for _, p := range r.plans {
		if p.role != nil {
			planned[strings.ToLower(p.role.Name)] = true
		}
	}
	var kept []iam.OrphanRole
	for _, o := range plan.Orphans {
		if !planned[strings.ToLower(o.Name)] && !namespaceScoped {
			kept = append(kept, o)
		}
	}
	plan.Orphans = kept
	return nil
}

// shareQuotas refuses the plans over the account's quotas (m is
// GetAccountSummary's map) and takes their roles out of the plan; it
// reports whether it refused any.
func (r *clusterRun) shareQuotas(plan *Plan, f iam.QuotaFigures, m map[string]int32) bool {
	refuse := map[string]error{} // by lower-cased role name
	if q, ok := m["AttachedPoliciesPerRoleQuota"]; ok {
		for name, n := range f.ManagedPerRole {
			if n > int(q) {
				refuse[strings.ToLower(name)] = fmt.Errorf("account quotas: role %s has %d managed policies, over the account's quota of %d attached policies per role (GetAccountSummary AttachedPoliciesPerRoleQuota)", name, n, q)
			}
		}
	}
	if room, known := iam.RoleRoom(f, m); known && f.Creates > room {
		byNS := map[string][]string{}
		asked := 0
		for _, rc := range plan.Roles {
			if rc.Kind == iam.KindCreate && refuse[strings.ToLower(rc.Name)] == nil {
				ns := r.namespaceOf(rc.Name)
				byNS[ns] = append(byNS[ns], rc.Name)
				asked++
			}
		}
		for _, name := range iam.FairShare(room, byNS) {
			ns := r.namespaceOf(name)
			refuse[strings.ToLower(name)] = fmt.Errorf("account quotas: the account has room for %d more role(s) (RolesQuota %d, %d roles) and the plans ask for %d; the room is shared out one role per namespace in turn, and namespace %s asks for %d: this plan waits (delete unused roles or ask AWS for a higher quota)",
				max(room, 0), m["RolesQuota"], m["Roles"], asked, ns, len(byNS[ns]))
		}
	}
	if len(refuse) == 0 {
		return false
	}
	for _, p := range r.live() {
		if err := refuse[strings.ToLower(p.role.Name)]; err != nil {
			p.refuse(err)
		}
	}
	kept := plan.Roles[:0]
	for _, rc := range plan.Roles {
		if refuse[strings.ToLower(rc.Name)] == nil {
			kept = append(kept, rc)
		}
	}
	plan.Roles = kept
	return true
}

// namespaceOf is the namespace of the live plans of a role ("" when none).
func (r *clusterRun) namespaceOf(role string) string {
	for _, p := range r.live() {
		if strings.EqualFold(p.role.Name, role) {
			return p.namespace()
		}
	}
	return ""
}
