package generator

import (
	"encoding/json"
	"testing"
)

// TestLintInlineNamesTheField: a document of spec.policies.inline is
// reported on its field; one rendered from another field (well-known
// policies) on spec.policies, the message naming the policy. Each finding
// names the statement and element.
func TestLintInlineNamesTheField(t *testing.T) {
	b := &IdentityBinding{Spec: IdentityBindingSpec{Policies: Policies{Inline: map[string]json.RawMessage{"read-s3": nil}}}}
	pb := &plannedBinding{role: Role{InlinePolicies: map[string]json.RawMessage{
		"read-s3":  json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:ListBucket","s3:GetObjet"],"Resource":"*"}]}`),
		"rendered": json.RawMessage(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:FrobnicateEveryBucket","Resource":"*"}]}`),
	}}}
	var problems Problems
	sink := problemSink{ref: ResourceRef{Kind: KindBinding, Namespace: "shop", Name: "orders"}, problems: &problems}
	if lintInline(pb, b, sink) {
		t.Error("a misspelt action must refuse the binding")
	}
	if len(problems) != 2 {
		t.Fatalf("problems: %v", problems)
	}
	if got, want := problems[0].String(), "error: IdentityBinding shop/orders: spec.policies.inline.read-s3: Statement[0].Action[1]: s3:GetObjet: did you mean s3:GetObject?"; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if p := problems[1]; p.Severity != SeverityWarning || p.Field != "spec.policies" || p.Message[:len("inline policy rendered: Statement[0].Action: ")] != "inline policy rendered: Statement[0].Action: " {
		t.Errorf("rendered policy: %v", p)
	}
	problems = nil
	delete(pb.role.InlinePolicies, "read-s3")
	if !lintInline(pb, b, sink) || len(problems) != 1 {
		t.Errorf("warnings alone must not refuse: %v", problems)
	}
}

// TestSessionPoliciesRead: the session policies of a role's associations
// are read from their JSON "policy" fields, each distinct one once, with
// the first association that carries it.
func TestSessionPoliciesRead(t *testing.T) {
	type assoc struct {
		Namespace string `json:"namespace"`
		Policy    string `json:"policy,omitempty"`
	}
	p := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObjet","Resource":"*"}]}`
	got := sessionPoliciesOf([]assoc{{"a", ""}, {"b", p}, {"c", p}})
	if len(got) != 1 || got[0].Index != 1 || got[0].Policy != p {
		t.Errorf("sessionPoliciesOf = %+v", got)
	}
	if got := SessionPolicies(Role{PodIdentityAssociations: []PodIdentityAssociation{{Cluster: "c"}}}); len(got) != 0 {
		t.Errorf("associations without a policy: %+v", got)
	}
}
