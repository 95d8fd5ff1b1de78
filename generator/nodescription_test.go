package generator

import "testing"

// A role made outside iambind usually has no description; noDescription
// keeps it so (an empty description means the default one).
func TestNoDescription(t *testing.T) {
	_, r, _ := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", "role:\n  noDescription: true"))
	if r.Description != "" {
		t.Errorf("noDescription: description %q", r.Description)
	}
	_, r, _ = mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", "role:\n  description: \"\""))
	if r.Description != "Managed by iambind for shop/orders" {
		t.Errorf("empty description: %q, want the default", r.Description)
	}
	out := generate(t, "", validCluster(""), bindingDoc("shop", "orders", "role:\n  noDescription: true\n  description: x"))
	mustProblem(t, out.Problems, SeverityError, "spec.role.noDescription", "spec.role.description is set")
}
