package reconcile

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/safety"
)

// injectedRender is a render with injection on for shop/orders and a
// Deployment running as it (the audience is not the default one, so the
// guard must read it from the token volume).
func injectedRender(t *testing.T) string {
	t.Helper()
	cluster := strings.Replace(clusterYAML("prod", testIssuer), "spec:\n", "spec:\n  inject: true\n", 1)
	binding := strings.Replace(bindingYAML("shop", "orders"), "spec:\n", "spec:\n  audience: orders.example.com\n", 1)
	return render(t, cluster, binding, `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector: {matchLabels: {app: orders}}
  template:
    metadata:
      labels: {app: orders}
    spec:
      serviceAccountName: orders
      initContainers: [{name: migrate, image: registry.example.com/migrate:1}]
      containers: [{name: app, image: registry.example.com/orders:1}]
`)
}

func TestGuardInjectedWorkloads(t *testing.T) {
	out := injectedRender(t)
	in := readString(t, out)
	if len(in.Workloads) != 2 {
		t.Fatalf("want the 2 injected containers, got %+v", in.Workloads)
	}
	for _, w := range in.Workloads {
		if w.Audience != "orders.example.com" || w.ServiceAccount != "orders" || w.Namespace != "shop" || !strings.HasSuffix(w.RoleARN, ":role/iambind/shop-orders") {
			t.Errorf("workload ref %+v", w)
		}
	}
	if v := safety.Guard(in); len(v) != 0 {
		t.Fatalf("a fresh render must pass the guard: %v", v)
	}

	for _, tc := range []struct{ name, from, to, want string }{
		// A later patch to serviceAccountName: the SA itself is unchanged, so
		// only the workload part of the guard can see it.
		{"serviceAccountName patch", "serviceAccountName: orders", "serviceAccountName: web", "system:serviceaccount:shop:web"},
		// kustomize namespace: after the function moves the workload too.
		{"namespace", "name: orders\n  namespace: shop\nspec:\n  selector", "name: orders\n  namespace: prod-shop\nspec:\n  selector", "system:serviceaccount:prod-shop:orders"},
		// a hand edit of the token audience.
		{"audience", "      audience: orders.example.com\n", "      audience: sts.amazonaws.com\n", "aud \"sts.amazonaws.com\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			changed := strings.Replace(out, tc.from, tc.to, 1)
			if changed == out {
				t.Fatalf("test setup: %q not found in\n%s", tc.from, out)
			}
			v := safety.Guard(readString(t, changed))
			if len(v) != 2 {
				t.Fatalf("want one violation per injected container, got %q", v)
			}
			for _, msg := range v {
				if !strings.Contains(msg, "Deployment") || !strings.Contains(msg, tc.want) {
					t.Errorf("violation %q does not name the workload and %s", msg, tc.want)
				}
			}
		})
	}

	// A workload whose AWS_ROLE_ARN is not a role of this plan is not ours to judge.
	foreign := strings.ReplaceAll(out, "role/iambind/shop-orders\n", "role/iambind/handmade\n")
	if v := safety.Guard(readString(t, foreign)); len(v) != 0 {
		t.Fatalf("guard judged a foreign role: %v", v)
	}
}
