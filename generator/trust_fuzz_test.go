package generator

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzTrustPolicy: whatever the issuers, audience and subjects, the built
// trust policy is valid JSON, every statement pins both aud and sub, and the
// policy names exactly the declared subjects (no more, no fewer).
func FuzzTrustPolicy(f *testing.F) {
	f.Add("https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLE", "sts.amazonaws.com", "shop:orders\nshop-batch:worker", "batch:*", uint8(1))
	f.Add("https://a.example.com/x", "aud\"with\\quotes", "ns:\u2028weird", "", uint8(3))
	f.Add("https://b.example.com", "", "", "*:*", uint8(2))
	f.Fuzz(func(t *testing.T, issuer, audience, exact, wild string, nIssuers uint8) {
		// Validation admits only DNS-1123 names and https URLs; invalid UTF-8
		// never reaches the builder (JSON would replace it with U+FFFD).
		for _, s := range []string{issuer, audience, exact, wild} {
			if !utf8.ValidString(s) {
				t.Skip("invalid UTF-8 is rejected before the builder")
			}
		}
		var issuers []TrustIssuer
		for i := 0; i < int(nIssuers%4)+1; i++ {
			issuers = append(issuers, TrustIssuer{Partition: "aws", AccountID: "111122223333", Issuer: issuer + strings.Repeat("/x", i)})
		}
		split := func(s string) []string {
			var out []string
			for _, line := range strings.Split(s, "\n") {
				if line != "" {
					out = append(out, "system:serviceaccount:"+line)
				}
			}
			return out
		}
		subjects := Subjects{Exact: split(exact), Wildcards: split(wild)}
		doc := BuildTrustPolicy(issuers, audience, subjects)
		raw, err := MarshalJSON(doc, true)
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var back PolicyDocument
		if err := json.Unmarshal(raw, &back); err != nil {
			t.Fatalf("the trust policy does not parse: %v\n%s", err, raw)
		}
		named := map[string]bool{}
		for _, st := range back.Statement {
			if st.Effect != "Allow" || len(st.Action) != 1 || st.Action[0] != "sts:AssumeRoleWithWebIdentity" {
				t.Fatalf("unexpected statement %+v", st)
			}
			var aud, sub bool
			for op, conds := range st.Condition {
				for key, values := range conds {
					switch {
					case strings.HasSuffix(key, ":aud") && op == "StringEquals":
						aud = len(values) == 1 && values[0] == audience
					case strings.HasSuffix(key, ":sub"):
						sub = len(values) > 0
						for _, v := range values {
							named[v] = true
						}
					}
				}
			}
			if !aud || !sub {
				t.Fatalf("a statement lacks the aud or sub condition: %+v", st)
			}
		}
		declared := map[string]bool{}
		for _, s := range append(subjects.Exact, subjects.Wildcards...) {
			declared[s] = true
		}
		for s := range named {
			if !declared[s] {
				t.Fatalf("the policy names %q, which was not declared", s)
			}
		}
		for s := range declared {
			if !named[s] {
				t.Fatalf("declared subject %q is missing from the policy", s)
			}
		}
		if len(declared) == 0 && len(back.Statement) != 0 {
			t.Fatalf("no subjects but %d statements", len(back.Statement))
		}
	})
}
