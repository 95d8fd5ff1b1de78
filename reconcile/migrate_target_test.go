package reconcile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A binding that already names a target account migrates like any other:
// step 1 (both) keeps the policies on the association role for IRSA pods
// and adds the target role; step 2 (podIdentity) leaves the association
// role only the assume permission.
func TestMigrateWithTargetAccount(t *testing.T) {
	dir := t.TempDir()
	bindings := `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: orders
  namespace: shop
spec:
  podIdentity:
    targetAccountID: "210987654321"   # the data account
  policies:
    managed: [AmazonS3ReadOnlyAccess]
`
	for name, text := range map[string]string{"cluster.yaml": migrateClusterYAML, "bindings.yaml": bindings} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Before: mode irsa, one role, no target yet.
	if in := readString(t, renderDir(t, dir)); len(in.Roles) != 1 {
		t.Fatalf("irsa: %d roles", len(in.Roles))
	}
	for step, mode := range []string{"both", "podIdentity"} {
		if r := runCLI("migrate", "-f", dir, "--eks-cluster-name", "prod-usw2=prod", "--write"); r.code != 0 {
			t.Fatalf("step %d: exit %d\n%s%s", step+1, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(readDir(t, dir), "mode: "+mode) || !strings.Contains(readDir(t, dir), `targetAccountID: "210987654321"   # the data account`) {
			t.Fatalf("step %d:\n%s", step+1, readDir(t, dir))
		}
		in := readString(t, renderDir(t, dir))
		if len(in.Roles) != 2 {
			t.Fatalf("mode %s: want the association and the target role, got %d", mode, len(in.Roles))
		}
		var assoc, target = in.Roles[0], in.Roles[1]
		if assoc.PodIdentityTarget != nil {
			assoc, target = target, assoc
		}
		if target.PodIdentityTarget == nil || !strings.Contains(target.ARN, ":210987654321:") || len(target.ManagedPolicyARNs) != 1 {
			t.Fatalf("mode %s: target role %+v", mode, target.Role)
		}
		keepsPolicies := len(assoc.ManagedPolicyARNs) == 1
		if keepsPolicies != (mode == "both") {
			t.Errorf("mode %s: association role managed policies %v", mode, assoc.ManagedPolicyARNs)
		}
		if hasWebIdentity(assoc.TrustPolicy) != (mode == "both") || !hasPodIdentity(assoc.TrustPolicy) {
			t.Errorf("mode %s: association trust %+v", mode, assoc.TrustPolicy)
		}
	}
}
