package guardrails

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
)

// ManagedPolicy is what the guardrails make of one managed policy's
// default-version document. It depends only on the ARN and the document,
// so a caller computes it once per ARN and shares it between roles.
type ManagedPolicy struct {
	ARN string
	// Findings are the rules the document breaks on its own: every action,
	// every IAM action, iam:PassRole or sts:AssumeRole on every role, a
	// denied action or a denied combination. Field is the document path
	// (Statement[0].Action[1], Statement.NotAction).
	Findings []generator.Finding
	grants   []grant
}

// CheckManagedPolicy judges a managed policy by what its document grants,
// with the rules inline Allow statements get, except that NotAction is
// judged by what it leaves granted (AWS managed policies use it) rather than
// refused outright. document is the policy JSON; the URL-encoded form
// GetPolicyVersion returns is accepted too. A document that cannot be read
// is a finding (fail closed).
func (g *Guardrails) CheckManagedPolicy(arn, document string) ManagedPolicy {
	mp := ManagedPolicy{ARN: arn}
	doc := strings.TrimSpace(document)
	if strings.HasPrefix(doc, "%") {
		// RFC 3986 encoding: "+" is a plus sign, not a space.
		if d, err := url.PathUnescape(doc); err == nil {
			doc = d
		}
	}
	grants, err := readGrants([]byte(doc), "")
	if err != nil {
		mp.Findings = []generator.Finding{{Field: "document", Message: fmt.Sprintf("cannot be evaluated by the guardrails: %v", err)}}
		return mp
	}
	mp.grants = grants
	mp.Findings = g.judge(grants)
	return mp
}

// ManagedViolations judges a role's managed policies by what they grant:
// the findings of each policy, addressed to managedPolicyArns[i], and the
// denied combinations whose parts are granted by different policies
// (inline ones included). policies holds CheckManagedPolicy's result for
// each ARN; an ARN the name rules of Check already refuse needs none, and
// any other ARN without one is refused (its grants are unknown).
func (g *Guardrails) ManagedViolations(role generator.Role, policies map[string]ManagedPolicy) []Violation {
	var out []Violation
	add := func(field, format string, args ...any) {
		out = append(out, Violation{Role: role.Name, Binding: role.Binding(), Field: field, Message: fmt.Sprintf(format, args...)})
	}
	var inline []grant
	for _, name := range slices.Sorted(maps.Keys(role.InlinePolicies)) {
		// An unreadable inline document or a NotAction is refused by Check.
		if gs, err := readGrants(role.InlinePolicies[name], "inlinePolicies."+name+"."); err == nil {
			inline = append(inline, slices.DeleteFunc(gs, func(gr grant) bool { return gr.notAction })...)
		}
	}
	all := slices.Clone(inline)
	var judged []ManagedPolicy
	for i, arn := range role.ManagedPolicyARNs {
		field := fmt.Sprintf("managedPolicyArns[%d]", i)
		if g.managedByName(arn) != "" {
			continue
		}
		mp, ok := policies[arn]
		if !ok {
			add(field, "the document of managed policy %s was not read, so the guardrails cannot judge what it grants", arn)
			continue
		}
		for _, f := range mp.Findings {
			add(field, "managed policy %s: %s: %s", arn, f.Field, f.Message)
		}
		for _, gr := range mp.grants {
			gr.field = field + " " + gr.field
			all = append(all, gr)
		}
		judged = append(judged, mp)
	}
	// Combinations within one source are reported already: inline ones by
	// Check, a single policy's in its Findings.
	for _, d := range g.Spec.DeniedActions {
		where, last, ok := combination(d, all)
		if !ok {
			continue
		}
		if _, _, within := combination(d, inline); within || slices.ContainsFunc(judged, func(mp ManagedPolicy) bool {
			_, _, within := combination(d, mp.grants)
			return within
		}) {
			continue
		}
		field, _, _ := strings.Cut(last.field, " ")
		add(field, "%s together with the role's other grants is privilege escalation (%s; guardrails deniedActions: %s)", last.name(), strings.Join(where, ", "), d)
	}
	return out
}
