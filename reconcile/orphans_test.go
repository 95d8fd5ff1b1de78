package reconcile

import (
	"bytes"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/reconcile/input"
)

func TestDiffListsOrphansWithoutPrune(t *testing.T) {
	a, b, c := testRole("shop-a", "prod"), testRole("shop-b", "prod"), testRole("shop-c", "prod")
	theirs := testRole("shop-x", "staging")
	state := iam.NewState()
	state.AllRoles = true
	for _, r := range []*input.DesiredRole{a, b, c, theirs} {
		state.AddRole(observedFrom(r))
	}
	for _, p := range a.OIDCProviders {
		state.Providers[p.ARN] = &iam.ObservedProvider{ARN: p.ARN, ClientIDs: p.Audiences}
	}
	in := &input.Input{Roles: []*input.DesiredRole{a}}
	plan, err := iam.Diff(in, state, iam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Orphans) != 2 || plan.Orphans[0].Name != "shop-b" || plan.Orphans[1].Name != "shop-c" || plan.HasChanges() {
		t.Fatalf("orphans %+v, changes %v", plan.Orphans, plan.HasChanges())
	}
	var out bytes.Buffer
	RenderText(&out, &Plan{Plan: plan})
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
	plan, err = iam.Diff(in, state, iam.Options{Prune: true})
	if err != nil || len(plan.Orphans) != 0 || plan.Count(iam.KindDelete) != 2 {
		t.Fatalf("prune: %v %+v", err, plan.Orphans)
	}
	if doc := NewJSONDocument("plan", &Plan{Plan: &iam.Plan{}}); doc.Orphans == nil {
		t.Fatal("JSON orphans must be [] when empty")
	}
}
