package safety

import (
	"fmt"
	"io"
	"strings"

	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/reconcile/input"
)

// GuardrailViolations checks every desired role against the operator's
// Guardrails before anything observes AWS. It fills in the required
// permissions boundary on roles planned without one (so the diff can never
// plan DeleteRolePermissionsBoundary for them) and returns the violations of
// each refused role. It is pure: -f mode refuses the whole run on any
// violation, --from-cluster can refuse just the offending plans.
func GuardrailViolations(g *guardrails.Guardrails, in *input.Input) map[*input.DesiredRole][]guardrails.Violation {
	out := map[*input.DesiredRole][]guardrails.Violation{}
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

// LoadGuardrails reads --guardrails FILE; nil when the flag is not given.
func LoadGuardrails(path string) (*guardrails.Guardrails, error) {
	if path == "" {
		return nil, nil
	}
	return guardrails.Load(path)
}

// WarnGuardrails prints what loading the guardrails warned about (a
// deniedActions entry the IAM catalogue does not know).
func WarnGuardrails(g *guardrails.Guardrails, stderr io.Writer) {
	if g == nil {
		return
	}
	for _, w := range g.Warnings {
		fmt.Fprintf(stderr, "iambind: %s\n", w)
	}
}

// GuardrailError is one role's violations as the reason its plan fails.
func GuardrailError(vs []guardrails.Violation) error {
	msgs := make([]string, len(vs))
	for i, v := range vs {
		msgs[i] = v.String()
	}
	return fmt.Errorf("guardrails: %s", strings.Join(msgs, "; "))
}

// EnforceGuardrails refuses the whole run (-f mode), before any AWS call,
// when a role breaks the guardrails g (loaded from path; nil: none).
func EnforceGuardrails(g *guardrails.Guardrails, path string, in *input.Input) error {
	if g == nil {
		return nil
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
