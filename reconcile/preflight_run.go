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

// preflightQuotas checks the account's quotas for the accepted plans and
// keeps the orphans truthful: a role some plan of the cluster still plans
// (even a refused one) did not leave the input, and with --namespace the
// other namespaces' plans were not read at all.
func (r *clusterRun) preflightQuotas(ctx context.Context, summary *iam.AccountSummary, state *iam.State, plan *Plan, namespaceScoped bool) error {
	quota, err := iam.CheckQuotas(ctx, summary, plan.Plan, state)
	if err != nil {
		return err
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
	if len(quota) > 0 {
		return fmt.Errorf("account quotas: the plans do not fit, nothing was changed:\n  %s", strings.Join(quota, "\n  "))
	}
	return nil
}
