package reconcile

import (
	"context"
	"fmt"
	"slices"

	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

// judgeManagedPolicies has the guardrails judge each managed policy the
// roles attach by what its document grants (next to the role's inline
// policies: a combination split across them counts), not by its name only.
// The documents are read once per ARN per run; a policy that does not exist
// is left to the preflight, one whose document cannot be read is refused.
// Nothing is read without guardrails.
func judgeManagedPolicies(ctx context.Context, docs *iam.DocumentReader, g *guardrails.Guardrails, roles []*input.DesiredRole) (map[*input.DesiredRole][]guardrails.Violation, error) {
	if g == nil {
		return nil, nil
	}
	var arns []string
	for _, r := range roles {
		for _, a := range r.ManagedPolicyARNs {
			if !slices.Contains(arns, a) {
				arns = append(arns, a)
			}
		}
	}
	slices.Sort(arns)
	if len(arns) == 0 {
		return nil, nil
	}
	documents, missing, err := docs.Read(ctx, arns)
	if err != nil {
		return nil, fmt.Errorf("reading managed policy documents for the guardrails: %w", err)
	}
	policies := map[string]guardrails.ManagedPolicy{}
	for arn, doc := range documents {
		policies[arn] = g.CheckManagedPolicy(arn, doc)
	}
	for _, arn := range missing {
		policies[arn] = guardrails.ManagedPolicy{ARN: arn} // grants nothing; the preflight refuses it
	}
	out := map[*input.DesiredRole][]guardrails.Violation{}
	for _, r := range roles {
		if vs := g.ManagedViolations(r.Role, policies); len(vs) > 0 {
			out[r] = vs
		}
	}
	return out, nil
}
