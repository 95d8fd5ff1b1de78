package reconcile

import (
	"bytes"
	"strings"
	"testing"
)

func TestDiffListsOrphansWithoutPrune(t *testing.T) {
	a, b, c := testRole("shop-a", "prod"), testRole("shop-b", "prod"), testRole("shop-c", "prod")
	theirs := testRole("shop-x", "staging")
	state := NewState()
	state.AllRoles = true
	for _, r := range []*DesiredRole{a, b, c, theirs} {
		state.AddRole(observedFrom(r))
	}
	for _, p := range a.OIDCProviders {
		state.Providers[p.ARN] = &ObservedProvider{ARN: p.ARN, ClientIDs: p.Audiences}
	}
	in := &Input{Roles: []*DesiredRole{a}}
	plan, err := Diff(in, state, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Orphans) != 2 || plan.Orphans[0].Name != "shop-b" || plan.Orphans[1].Name != "shop-c" || plan.HasChanges() {
		t.Fatalf("orphans %+v, changes %v", plan.Orphans, plan.HasChanges())
	}
	var out bytes.Buffer
	RenderText(&out, plan)
	for _, want := range []string{
		"2 roles owned by prod are no longer planned: shop-b, shop-c; `--prune` deletes them",
		"(no changes to planned roles; 2 owned role(s) no longer planned, kept without --prune).",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("text lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "shop-x") {
		t.Errorf("another owner's role is listed:\n%s", out.String())
	}
	// With --prune they are deletions, not orphans.
	plan, err = Diff(in, state, Options{Prune: true})
	if err != nil || len(plan.Orphans) != 0 || plan.Count(KindDelete) != 2 {
		t.Fatalf("prune: %v %+v", err, plan.Orphans)
	}
	if doc := NewJSONDocument("plan", &Plan{}); doc.Orphans == nil {
		t.Fatal("JSON orphans must be [] when empty")
	}
}
