package generator

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/iambind/iambind/addons"
	"github.com/iambind/iambind/policylint"
)

// lintInline lints every inline policy document of a planned role, the
// final set (whatever field rendered it), and its Pod Identity session
// policy, against the IAM catalogue (docs/lint.md): errors refuse the
// binding, warnings are reported. The field names the document; the
// message, the statement and element in it.
func lintInline(pb *plannedBinding, b *IdentityBinding, sink problemSink) bool {
	ok := true
	for _, name := range slices.Sorted(maps.Keys(pb.role.InlinePolicies)) {
		field, what := inlineField(name, b)
		ok = lintDocument(field, what, pb.role.InlinePolicies[name], sink) && ok
	}
	for _, sp := range SessionPolicies(pb.role) {
		ok = lintDocument(sessionPolicyField, "", []byte(sp.Policy), sink) && ok
	}
	return ok
}

// sessionPolicyField is the binding field a Pod Identity session policy
// comes from.
const sessionPolicyField = "spec.podIdentity.sessionPolicy"

// SessionPolicy is a distinct session policy of a role's Pod Identity
// associations and the index of the first association that carries it.
type SessionPolicy struct {
	Index  int
	Policy string
}

// SessionPolicies are the distinct session policies of a role's Pod
// Identity associations (role.json podIdentityAssociations[].policy, a JSON
// string as in the EKS API), read from the associations' JSON so that the
// lint covers them whichever fields the association type has.
func SessionPolicies(role Role) []SessionPolicy {
	if len(role.PodIdentityAssociations) == 0 {
		return nil
	}
	return sessionPoliciesOf(role.PodIdentityAssociations)
}

// sessionPoliciesOf reads the policy fields of a list of associations.
func sessionPoliciesOf(associations any) []SessionPolicy {
	raw, err := json.Marshal(associations)
	if err != nil {
		return nil
	}
	var assocs []struct {
		Policy string `json:"policy"`
	}
	if json.Unmarshal(raw, &assocs) != nil {
		return nil
	}
	var out []SessionPolicy
	for i, a := range assocs {
		if a.Policy != "" && !slices.ContainsFunc(out, func(sp SessionPolicy) bool { return sp.Policy == a.Policy }) {
			out = append(out, SessionPolicy{Index: i, Policy: a.Policy})
		}
	}
	return out
}

// lintDocument reports the findings of one policy document (an inline
// policy, a session policy) against field; what, when not empty, starts each
// message ("inline policy <name>") for documents the field does not name
// alone. It reports whether the document has no error.
func lintDocument(field, what string, doc []byte, sink problemSink) bool {
	findings := policylint.Document(doc)
	for _, f := range findings {
		msg := f.String()
		if what != "" {
			msg = what + ": " + msg
		}
		if f.Severity == policylint.Error {
			sink.errorf(field, "%s", msg)
		} else {
			sink.warnf(field, "%s", msg)
		}
	}
	return !policylint.HasErrors(findings)
}

// inlineField is the binding field an inline policy of the role comes from:
// spec.policies.inline.<name> for the user's documents,
// spec.policies.wellKnown[i] for an add-on's (the rendered policy named in
// the message); any other was rendered from spec.policies and is named in
// the message.
func inlineField(name string, b *IdentityBinding) (field, what string) {
	if _, own := b.Spec.Policies.Inline[name]; own {
		return "spec.policies.inline." + name, ""
	}
	if addon, ok := strings.CutPrefix(name, addons.InlinePrefix); ok {
		for i, wk := range b.Spec.Policies.WellKnown {
			if wk.Name == addon {
				return fmt.Sprintf("spec.policies.wellKnown[%d]", i), "inline policy " + name
			}
		}
	}
	return "spec.policies", "inline policy " + name
}
