package safety

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

func TestValidateLimits(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(*input.DesiredRole)
		quota   int
		wantErr string
		warn    string
	}{
		{name: "valid", mutate: func(*input.DesiredRole) {}},
		{name: "name too long", mutate: func(d *input.DesiredRole) {
			d.Name = strings.Repeat("a", 65)
			d.ARN = "arn:aws:iam::123456789012:role/iambind/" + d.Name
		}, wantErr: "name must be 1-64"},
		{name: "name chars", mutate: func(d *input.DesiredRole) { d.Name = "a/b"; d.ARN = "arn:aws:iam::123456789012:role/iambind/a/b" }, wantErr: "name must be"},
		{name: "arn mismatch", mutate: func(d *input.DesiredRole) { d.ARN = "arn:aws:iam::123456789012:role/other" }, wantErr: "does not match path"},
		{name: "path", mutate: func(d *input.DesiredRole) { d.Path = "iambind"; d.ARN = "arn:aws:iam::123456789012:roleiambindorders" }, wantErr: "path"},
		{name: "description", mutate: func(d *input.DesiredRole) { d.Description = strings.Repeat("x", 1001) }, wantErr: "description is 1001 characters"},
		{name: "session low", mutate: func(d *input.DesiredRole) { d.MaxSessionDuration = 60 }, wantErr: "maxSessionDuration 60"},
		{name: "session high", mutate: func(d *input.DesiredRole) { d.MaxSessionDuration = 43201 }, wantErr: "maxSessionDuration 43201"},
		{name: "trust over quota", quota: 100, mutate: func(*input.DesiredRole) {}, wantErr: "over the account quota of 100"},
		{name: "inline total", mutate: func(d *input.DesiredRole) {
			d.InlinePolicies["big"] = json.RawMessage(`{"Sid":"` + strings.Repeat("x", 10300) + `"}`)
		}, wantErr: "inline policies total"},
		{name: "inline name", mutate: func(d *input.DesiredRole) { d.InlinePolicies["bad name"] = json.RawMessage(`{}`) }, wantErr: `inline policy name "bad name"`},
		{name: "11 managed warns", mutate: func(d *input.DesiredRole) { d.ManagedPolicyARNs = managed(11) }, warn: "over IAM's default quota of 10"},
		{name: "21 managed fails", mutate: func(d *input.DesiredRole) { d.ManagedPolicyARNs = managed(21) }, wantErr: "21 managed policies"},
		{name: "51 tags", mutate: func(d *input.DesiredRole) {
			for i := 0; i < 48; i++ {
				d.Tags[fmt.Sprintf("k%d", i)] = "v"
			}
		}, wantErr: "51 tags"},
		{name: "tag value", mutate: func(d *input.DesiredRole) { d.Tags["k"] = strings.Repeat("v", 257) }, wantErr: `tag "k" value is 257`},
		{name: "no owner", mutate: func(d *input.DesiredRole) { delete(d.Tags, generator.TagOwner) }, wantErr: "no iambind.dev/owner"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testRole("orders", "prod")
			tc.mutate(d)
			quota := tc.quota
			if quota == 0 {
				quota = generator.DefaultMaxTrustPolicySize
			}
			p := Validate(&input.Input{Roles: []*input.DesiredRole{d}}, quota)
			errs := strings.Join(p.Errors, "\n")
			if tc.wantErr == "" && errs != "" {
				t.Fatalf("unexpected errors: %s", errs)
			}
			if tc.wantErr != "" && !strings.Contains(errs, tc.wantErr) {
				t.Fatalf("errors %q lack %q", errs, tc.wantErr)
			}
			if tc.warn != "" && !strings.Contains(strings.Join(p.Warnings, "\n"), tc.warn) {
				t.Fatalf("warnings %q lack %q", p.Warnings, tc.warn)
			}
		})
	}
}

func TestValidateOneAccount(t *testing.T) {
	a := testRole("a", "prod")
	b := testRole("b", "prod")
	b.ARN = strings.Replace(b.ARN, testAccount, "111122223333", 1)
	p := Validate(&input.Input{Roles: []*input.DesiredRole{a, b}}, 2048)
	if !strings.Contains(strings.Join(p.Errors, "\n"), "spans several accounts") {
		t.Fatalf("errors: %v", p.Errors)
	}
}

func managed(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("arn:aws:iam::aws:policy/P%d", i)
	}
	return out
}
