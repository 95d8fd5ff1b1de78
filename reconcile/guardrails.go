package reconcile

import (
	"fmt"
	"strings"

	"github.com/iambind/iambind/guardrails"
)

// GuardrailViolations checks every desired role against the operator's
// Guardrails before anything observes AWS. It fills in the required
// permissions boundary on roles planned without one (so the diff can never
// plan DeleteRolePermissionsBoundary for them) and returns the violations of
// each refused role. It is pure: -f mode refuses the whole run on any
// violation, --from-cluster can refuse just the offending plans.
func GuardrailViolations(g *guardrails.Guardrails, in *Input) map[*DesiredRole][]guardrails.Violation {
	out := map[*DesiredRole][]guardrails.Violation{}
	for _, r := range in.Roles {
		checked, vs := g.Violations(r.Role)
		if len(vs) > 0 {
			out[r] = vs
			continue
		}
		r.Role = checked
	}
	return out
}

// enforceGuardrails loads --guardrails FILE (when given) and refuses the
// run, before any AWS call, when a role breaks it.
func enforceGuardrails(path string, in *Input) error {
	if path == "" {
		return nil
	}
	g, err := guardrails.Load(path)
	if err != nil {
		return err
	}
	refused := GuardrailViolations(g, in)
	if len(refused) == 0 {
		return nil
	}
	var lines []string
	for _, r := range in.Roles { // in.Roles is sorted: stable output
		for _, v := range refused[r] {
			lines = append(lines, v.String()+" ("+r.Source+")")
		}
	}
	return fmt.Errorf("guardrails %s refused %d role(s), nothing was changed:\n  %s", path, len(refused), strings.Join(lines, "\n  "))
}
