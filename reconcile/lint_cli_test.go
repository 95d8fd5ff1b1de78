package reconcile_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLintHandEditedPlan: `iambind plan|apply -f` holds the plans it reads
// to the policy lint (docs/lint.md), so a plan ConfigMap edited by hand
// after the function rendered it is caught: a misspelt action refuses the
// run like any invalid plan (exit 1, nothing written to IAM), and a warning
// is printed and listed among the JSON plan's warnings while the plan goes
// on.
func TestLintHandEditedPlan(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	e := newBadEnv(t)
	rendered := grRender(t, `  policies:
    inline:
      read-s3: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: ["s3:ListBucket", "s3:GetObject"], Resource: ["arn:aws:s3:::orders", "arn:aws:s3:::orders/*"]}]}
`)
	if !strings.Contains(rendered, `"s3:GetObject"`) {
		t.Fatalf("the rendered plan lacks the action to edit:\n%s", rendered)
	}

	t.Run("error refuses", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", editPlan(t, rendered, `"s3:GetObject"`, `"s3:GetObjet"`))
		for _, cmd := range []string{"plan", "apply"} {
			r := e.run(t, cmd, "-f", plan, "--endpoint-url", e.moto.Endpoint)
			checkRejected(t, cmd, r, []string{
				"the plan is invalid, nothing was changed",
				"binding shop/orders, inline policy read-s3: Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?",
			})
			if n := strings.Count(r.stderr, "s3:GetObjet: did you mean"); n != 1 {
				t.Errorf("%s: the finding is on %d lines, want 1:\n%s", cmd, n, r.stderr)
			}
		}
		if roles, providers := e.iamContents(t); len(roles)+len(providers) > 0 {
			t.Errorf("IAM was written: roles %v providers %v", roles, providers)
		}
	})

	t.Run("warning is printed", func(t *testing.T) {
		plan := writeTemp(t, "rendered.yaml", editPlan(t, rendered, `"arn:aws:s3:::orders/*"`, `"arn:aws:dynamodb:us-west-2:111122223333:table/orders"`))
		want := "binding shop/orders, inline policy read-s3: Statement[0].Resource[1]: arn:aws:dynamodb:us-west-2:111122223333:table/orders is an ARN of service dynamodb, but no action of the statement (services s3) acts on dynamodb resources"
		r := e.run(t, "plan", "-f", plan, "--endpoint-url", e.moto.Endpoint)
		if r.exitCode != 0 {
			t.Fatalf("plan with a lint warning: exit %d\n%s", r.exitCode, r.stderr)
		}
		if lines := linesContaining(r.stderr, want); len(lines) != 1 || !strings.HasPrefix(lines[0], "iambind: warning: role shop-orders (") {
			t.Errorf("want one warning line with %q:\n%s", want, r.stderr)
		}
		r = e.run(t, "plan", "-f", plan, "--output", "json", "--endpoint-url", e.moto.Endpoint)
		var doc struct{ Warnings []string }
		if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
			t.Fatalf("plan --output json: %v\n%s", err, r.stdout)
		}
		if len(doc.Warnings) != 1 || !strings.Contains(doc.Warnings[0], want) {
			t.Errorf("JSON warnings %q, want the lint warning", doc.Warnings)
		}
	})
}

// editPlan edits the plan ConfigMap's role.json by hand: the last old in
// the rendered output (the binding, passed through, comes first).
func editPlan(t *testing.T, rendered, old, new string) string {
	t.Helper()
	i := strings.LastIndex(rendered, old)
	if i < 0 || !strings.Contains(rendered[:i], "role.json: |") {
		t.Fatalf("%s is not in the plan's role.json:\n%s", old, rendered)
	}
	return rendered[:i] + new + rendered[i+len(old):]
}

func linesContaining(s, sub string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}
