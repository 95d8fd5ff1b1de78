package examples

import (
	"strings"
	"testing"
)

// TestKustomizeGuardrails: a Guardrails object among the resources makes the
// kustomize build (the PR's render) fail on a violating binding with the
// field-addressed message the CLI prints, and add the required boundary to a
// compliant one; the Guardrails object itself is local-config, so it never
// reaches the cluster.
func TestKustomizeGuardrails(t *testing.T) {
	build := func(managed string) (string, string, error) {
		dir := t.TempDir()
		write(t, dir, "kustomization.yaml", "resources: [binding.yaml, guardrails.yaml]\ntransformers: [cluster.yaml]\n")
		write(t, dir, "cluster.yaml", execClusterYAML("  rolePath: /iambind/\n"))
		write(t, dir, "guardrails.yaml", `apiVersion: iambind.dev/v1alpha1
kind: Guardrails
metadata: {name: platform}
spec:
  permissionsBoundary: arn:aws:iam::111122223333:policy/iambind-boundary
  deniedManagedPolicies: [arn:aws:iam::aws:policy/AdministratorAccess]
`)
		write(t, dir, "binding.yaml", `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: web}
spec:
  policies: {managed: [`+managed+`]}
`)
		return tryKustomizeBuild(t, dir)
	}

	out, stderr, err := build("AdministratorAccess")
	if err == nil {
		t.Fatalf("kustomize build succeeded on a binding the guardrails refuse:\n%s", out)
	}
	if !strings.Contains(stderr, "IdentityBinding web/app: spec.policies.managed[0]: managed policy arn:aws:iam::aws:policy/AdministratorAccess is refused by the guardrails (deniedManagedPolicies: arn:aws:iam::aws:policy/AdministratorAccess)") {
		t.Errorf("stderr does not name the binding, field and rule:\n%s", stderr)
	}

	out, stderr, err = build("ReadOnlyAccess")
	if err != nil {
		t.Fatalf("kustomize build of a compliant binding: %v\n%s", err, stderr)
	}
	if !strings.Contains(out, `"permissionsBoundary": "arn:aws:iam::111122223333:policy/iambind-boundary"`) {
		t.Errorf("the required boundary was not added to role.json:\n%s", out)
	}
	if strings.Contains(out, "kind: Guardrails") {
		t.Errorf("the Guardrails object reached the output (it must be local-config):\n%s", out)
	}
}
