package reconcile

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

func driftPlan(t *testing.T) *Plan {
	t.Helper()
	state := iam.NewState()
	state.AllRoles = true
	o := observedFrom(testRole("orders", "prod"))
	o.Description = "hand edit"
	o.InlinePolicies["bucket"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`
	state.AddRole(o)
	state.AddRole(observedFrom(testRole("gone", "prod")))
	state.AddRole(observedFrom(testRole("same", "prod")))
	plan, err := iam.Diff(&input.Input{Roles: []*input.DesiredRole{testRole("orders", "prod"), testRole("new", "prod"), testRole("same", "prod")}},
		state, iam.Options{Prune: true})
	if err != nil {
		t.Fatal(err)
	}
	return &Plan{Plan: plan}
}

func TestRenderText(t *testing.T) {
	var buf bytes.Buffer
	RenderText(&buf, driftPlan(t))
	out := buf.String()
	for _, want := range []string{
		"+ create OIDC provider " + testIssuer + " (client IDs: sts.amazonaws.com)",
		"- delete role gone (arn:aws:iam::123456789012:role/iambind/gone)",
		"# owned by prod and no longer in the plan",
		"+ create role new (",
		"~ update role orders (",
		`~ description: "hand edit" → "Managed by iambind for shop/orders"`,
		"inlinePolicies.bucket:",
		`-       "Action": "s3:*",`,
		`+       "Action": "s3:GetObject",`,
		"= no change role same (",
		"Plan: 1 to create, 1 to update, 0 to replace, 1 to delete, 1 unchanged; OIDC providers: 1 to create, 0 to update.",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text plan lacks %q\n%s", want, out)
		}
	}
}

func TestRenderJSONSchema(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSON(&buf, NewJSONDocument("plan", driftPlan(t))); err != nil {
		t.Fatal(err)
	}
	checkPlanJSON(t, buf.Bytes(), map[string]string{"new": "create", "orders": "update", "gone": "delete", "same": "no-change"})
}

// checkPlanJSON validates the documented schema (docs/plan-json.md) and the
// action of each named role.
func checkPlanJSON(t *testing.T, data []byte, actions map[string]string) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, data)
	}
	for _, key := range []string{"formatVersion", "command", "hasChanges", "summary", "owners", "prune", "oidcProviders", "roles", "warnings", "errors", "iamCalls"} {
		if _, ok := doc[key]; !ok {
			t.Errorf("missing top-level key %q", key)
		}
	}
	if doc["formatVersion"] != float64(JSONFormatVersion) {
		t.Errorf("formatVersion = %v", doc["formatVersion"])
	}
	summary := doc["summary"].(map[string]any)
	for _, key := range []string{"create", "update", "replace", "delete", "noChange", "oidcProvidersToCreate", "oidcProvidersToUpdate"} {
		if _, ok := summary[key]; !ok {
			t.Errorf("summary lacks %q", key)
		}
	}
	got := map[string]string{}
	for _, r := range doc["roles"].([]any) {
		role := r.(map[string]any)
		for _, key := range []string{"name", "arn", "owner", "action", "changes", "calls"} {
			if _, ok := role[key]; !ok {
				t.Errorf("role %v lacks %q", role["name"], key)
			}
		}
		for _, c := range role["changes"].([]any) {
			if _, ok := c.(map[string]any)["field"]; !ok {
				t.Errorf("change without field: %v", c)
			}
		}
		for _, c := range role["calls"].([]any) {
			if _, ok := c.(map[string]any)["op"]; !ok {
				t.Errorf("call without op: %v", c)
			}
		}
		got[role["name"].(string)] = role["action"].(string)
	}
	for name, want := range actions {
		if got[name] != want {
			t.Errorf("role %s: action %q, want %q (all: %v)", name, got[name], want, got)
		}
	}
	return doc
}

func TestPolicyDocuments(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{`{"Action":"s3:GetObject"}`, `{"Action":["s3:GetObject"]}`, true},
		{`{"Action":["b","a"]}`, `{"Action":["a","b"]}`, true},
		{`{"Statement":{"Effect":"Allow"}}`, `{"Statement":[{"Effect":"Allow"}]}`, true},
		{`{"Action":"s3:GetObject"}`, `{"Action":"s3:PutObject"}`, false},
		{`{"Statement":[{"Sid":"1"},{"Sid":"2"}]}`, `{"Statement":[{"Sid":"1"}]}`, false},
	}
	for _, tc := range tests {
		if got, err := change.SameDocument(tc.a, tc.b); err != nil || got != tc.same {
			t.Errorf("change.SameDocument(%s, %s) = %v, %v", tc.a, tc.b, got, err)
		}
	}
	// IAM URL-encodes documents; '+' must survive (PathUnescape, not QueryUnescape).
	got, err := change.DecodeIAMDocument("%7B%22Resource%22%3A%22arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fa+b%22%7D")
	if err != nil || got != `{"Resource":"arn:aws:iam::1:role/a+b"}` {
		t.Errorf("decode = %q, %v", got, err)
	}
	if got, _ := change.DecodeIAMDocument(`{"a":"100%"}`); got != `{"a":"100%"}` {
		t.Errorf("plain JSON must be kept: %q", got)
	}
}
