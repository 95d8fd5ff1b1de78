// Package guardrails is the operator's policy over every role iambind plans
// (docs/guardrails.md): allowed and denied managed policies,
// inline actions refused as privilege escalation, a required permissions
// boundary, a ceiling on maxSessionDuration and the allowed role paths. It is
// pure: the function (iambind-fn) checks rendered bindings with it and the
// CLI (iambind plan|apply --guardrails) checks role.json with it, so both
// refuse the same roles with the same message.
package guardrails

import (
	"fmt"
	"os"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/policylint"
)

// Kind is the kind of a Guardrails object (apiVersion iambind.dev/v1alpha1).
const Kind = "Guardrails"

// Guardrails is the operator's policy object.
type Guardrails struct {
	APIVersion string               `json:"apiVersion"`
	Kind       string               `json:"kind"`
	Metadata   generator.ObjectMeta `json:"metadata"`
	Spec       Spec                 `json:"spec"`
	// Warnings are what Decode found questionable but not wrong (an action
	// the IAM catalogue does not know), one line each, for the CLI to print.
	Warnings []string `json:"-"`
}

// Spec holds the rules; an empty field sets no rule (deniedActions excepted:
// omitted means DefaultDeniedActions, [] means none).
type Spec struct {
	// AllowedManagedPolicies: when set, every managed policy ARN must match one of these globs.
	AllowedManagedPolicies []string `json:"allowedManagedPolicies,omitempty"`
	// DeniedManagedPolicies: no managed policy ARN may match these globs (wins over allowed).
	DeniedManagedPolicies []string `json:"deniedManagedPolicies,omitempty"`
	// DeniedActions: action globs refused in inline Allow statements.
	DeniedActions []string `json:"deniedActions"`
	// PermissionsBoundary is the policy ARN every role carries: added to a
	// role without one; a role with another one is refused.
	PermissionsBoundary string `json:"permissionsBoundary,omitempty"`
	// MaxSessionDuration is the ceiling of a role's maxSessionDuration, in seconds.
	MaxSessionDuration int32 `json:"maxSessionDuration,omitempty"`
	// RolePaths are globs a role's path must match (exact when without * or ?).
	RolePaths []string `json:"rolePaths,omitempty"`
}

// Decode reads one Guardrails object strictly: an unknown field is an error
// (a misspelt rule must not be silently ignored), and so is a rule that
// cannot mean anything.
func Decode(obj *fn.KubeObject) (*Guardrails, generator.Problems) {
	var g Guardrails
	if obj.GetAPIVersion() != generator.APIVersion || obj.GetKind() != Kind {
		return nil, generator.Problems{{Severity: generator.SeverityError, Resource: generator.RefOf(obj), Field: "apiVersion",
			Message: fmt.Sprintf("%s %s is not a %s %s", obj.GetAPIVersion(), obj.GetKind(), generator.APIVersion, Kind)}}
	}
	if ps := generator.DecodeObject(obj, &g); ps.HasErrors() {
		return nil, ps
	}
	// encoding/json leaves an omitted list nil and an explicit [] empty.
	defaulted := g.Spec.DeniedActions == nil
	if defaulted {
		g.Spec.DeniedActions = DefaultDeniedActions
	}
	var ps generator.Problems
	bad := func(field, format string, args ...any) {
		ps = append(ps, generator.Problem{Severity: generator.SeverityError, Resource: generator.RefOf(obj), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	for i, p := range g.Spec.AllowedManagedPolicies {
		checkARNGlob(p, fmt.Sprintf("spec.allowedManagedPolicies[%d]", i), bad)
	}
	for i, p := range g.Spec.DeniedManagedPolicies {
		checkARNGlob(p, fmt.Sprintf("spec.deniedManagedPolicies[%d]", i), bad)
	}
	for i, a := range g.Spec.DeniedActions {
		field := fmt.Sprintf("spec.deniedActions[%d]", i)
		for _, part := range strings.Split(a, "+") {
			if service, name, ok := strings.Cut(part, ":"); !ok || service == "" || name == "" || strings.ContainsAny(part, " \t\"") {
				bad(field, "%q is not an action glob (service:Action, e.g. iam:PutRolePolicy or iam:Put*; parts joined with + are refused together)", a)
				break
			}
			if defaulted {
				continue // checked by the tests against the catalogue
			}
			// A glob that denies nothing is a guardrail that is not there.
			switch sev, msg := policylint.ActionGlob(part); sev {
			case policylint.Error:
				bad(field, "%s", msg)
			case policylint.Warning:
				ps = append(ps, generator.Problem{Severity: generator.SeverityWarning, Resource: generator.RefOf(obj), Field: field, Message: msg})
			}
		}
	}
	if b := g.Spec.PermissionsBoundary; b != "" && !generator.IsPolicyARN(b) {
		bad("spec.permissionsBoundary", "%q is not an IAM policy ARN (arn:<partition>:iam::<account>:policy/<name>)", b)
	}
	if m := g.Spec.MaxSessionDuration; m != 0 && (m < generator.MinSessionDuration || m > generator.MaxSessionDuration) {
		bad("spec.maxSessionDuration", "%d is outside %d..%d seconds", m, generator.MinSessionDuration, generator.MaxSessionDuration)
	}
	for i, p := range g.Spec.RolePaths {
		if !strings.HasPrefix(p, "/") || !(strings.HasSuffix(p, "/") || strings.HasSuffix(p, "*")) {
			bad(fmt.Sprintf("spec.rolePaths[%d]", i), "%q is not a role path glob (starts with /, ends with / or *, e.g. /iambind/*)", p)
		}
	}
	if ps.HasErrors() {
		return nil, ps
	}
	for _, p := range ps {
		g.Warnings = append(g.Warnings, p.String())
	}
	return &g, ps
}

func checkARNGlob(p, field string, bad func(string, string, ...any)) {
	if !strings.HasPrefix(p, "arn:") || strings.Count(p, ":") < 5 {
		bad(field, "%q is not a policy ARN glob (e.g. arn:aws:iam::aws:policy/* or arn:*:iam::*:policy/AdministratorAccess)", p)
	}
}

// Load reads the Guardrails file given to `iambind plan|apply --guardrails`:
// exactly one Guardrails object.
func Load(path string) (*Guardrails, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--guardrails: %w", err)
	}
	objs, err := fn.ParseKubeObjects(data)
	if err != nil {
		return nil, fmt.Errorf("--guardrails %s: %w", path, err)
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("--guardrails %s: holds %d objects, want exactly one %s %s", path, len(objs), generator.APIVersion, Kind)
	}
	g, ps := Decode(objs[0])
	if ps.HasErrors() {
		lines := make([]string, 0, len(ps))
		for _, p := range ps.Errors() {
			lines = append(lines, p.String())
		}
		return nil, fmt.Errorf("--guardrails %s:\n  %s", path, strings.Join(lines, "\n  "))
	}
	return g, nil
}

// Options plugs Guardrails into the function (generator.GenerateWith).
func Options() generator.Options {
	return generator.Options{Policies: []generator.PolicyKind{{
		Kind: Kind,
		Decode: func(obj *fn.KubeObject) (generator.RolePolicy, generator.Problems) {
			g, ps := Decode(obj)
			if g == nil {
				return nil, ps
			}
			return g, ps
		},
	}}}
}
