package generator

import (
	"encoding/json"
	"testing"
)

// TestInlineFieldNamesTheSource: a finding in a rendered inline policy
// points at the field the user wrote.
func TestInlineFieldNamesTheSource(t *testing.T) {
	b := &IdentityBinding{}
	b.Spec.Policies.Inline = map[string]json.RawMessage{"read": nil}
	b.Spec.Policies.WellKnown = []WellKnownPolicy{{Name: "velero"}, {Name: "externalDNS"}}
	for name, want := range map[string]string{
		"read":                  "spec.policies.inline.read",
		"wellKnown-externalDNS": "spec.policies.wellKnown[1]",
		"wellKnown-karpenter":   "spec.policies",
		"other":                 "spec.policies",
	} {
		if got, _ := inlineField(name, b); got != want {
			t.Errorf("inlineField(%q) = %q, want %q", name, got, want)
		}
	}
}
