package guardrails

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
)

// FuzzCheckInline: any inline document (role.json is tenant-written in
// --from-cluster mode) is either refused or, if accepted, grants none of
// the always-refused actions in a form the checker could have missed; and
// nothing panics.
func FuzzCheckInline(f *testing.F) {
	for _, seed := range []string{
		`{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`,
		`{"Statement":{"Effect":"Allow","Action":["iam:Put*"],"Resource":"*"}}`,
		`{"Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","NotResource":"x"}]}`,
		`{"Statement":[{"Effect":"Allow","Action":"a","Action":"b"}]}`,
		`{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}`,
		`[`, `{}`, `{"Statement":null}`, `{"Statement":[1]}`,
	} {
		f.Add(seed)
	}
	g := &Guardrails{Spec: Spec{DeniedActions: DefaultDeniedActions}}
	f.Fuzz(func(t *testing.T, doc string) {
		role := generator.Role{Name: "r", InlinePolicies: map[string]json.RawMessage{"p": json.RawMessage(doc)}, Tags: map[string]string{}}
		_, findings := g.Check(role)
		if len(findings) > 0 {
			return
		}
		// Accepted: no statement may name iam:* or * as an Allow action.
		statements, _, err := readStatements(json.RawMessage(doc))
		if err != nil {
			return // an unreadable document with no Statement grants nothing
		}
		for _, st := range statements {
			if st.Effect == "Deny" {
				continue
			}
			for _, a := range st.Action.values {
				if v := strings.ToLower(a.value); v == "*" || v == "iam:*" || v == "iam:putrolepolicy" {
					t.Fatalf("accepted %q in %s", a.value, doc)
				}
			}
		}
	})
}
