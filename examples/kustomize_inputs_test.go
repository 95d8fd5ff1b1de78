package examples

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Under kustomize, iambind-fn leaves its own local-config inputs out of its
// output (generator/kustomize.go). These tests run the real kustomize and
// look at what a later transformer of the same build receives.

const inputsBinding = `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: app, namespace: web}
spec:
  serviceAccounts: [{name: app}]
  policies: {managed: [AmazonS3ReadOnlyAccess]}
`

// recorder writes an exec transformer that hands its input back unchanged
// and keeps a copy in dir/seen.yaml; it returns the transformer's config.
func recorder(t *testing.T, dir string) string {
	t.Helper()
	script := filepath.Join(dir, "record.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ntee '"+filepath.Join(dir, "seen.yaml")+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return `apiVersion: v1
kind: ConfigMap
metadata:
  name: record
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ` + script + "\n"
}

// keepInputs is execClusterYAML with the annotation that keeps the inputs.
func keepInputs(cluster string) string {
	return strings.Replace(cluster, "  annotations:\n", "  annotations:\n    iambind.dev/keep-inputs: \"true\"\n", 1)
}

func TestKustomizeLeavesInputsOut(t *testing.T) {
	builds := map[string]string{}
	for _, variant := range []string{"default", "keep-inputs"} {
		t.Run(variant, func(t *testing.T) {
			dir := t.TempDir()
			cluster := execClusterYAML("")
			if variant == "keep-inputs" {
				cluster = keepInputs(cluster)
			}
			write(t, dir, "kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml, record.yaml]\n")
			write(t, dir, "cluster.yaml", cluster)
			write(t, dir, "binding.yaml", inputsBinding)
			write(t, dir, "record.yaml", recorder(t, dir))
			out, stderr, err := tryKustomizeBuild(t, dir)
			if err != nil {
				t.Fatalf("kustomize build: %v\n%s", err, stderr)
			}
			builds[variant] = out
			seen, err := os.ReadFile(filepath.Join(dir, "seen.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(seen), "name: iambind-app") {
				t.Fatalf("the later transformer did not receive the plan ConfigMap:\n%s", seen)
			}
			gotBinding := strings.Contains(string(seen), "kind: IdentityBinding")
			if want := variant == "keep-inputs"; gotBinding != want {
				t.Errorf("later transformer received the IdentityBinding: %v, want %v:\n%s", gotBinding, want, seen)
			}
		})
	}
	if builds["default"] == "" || builds["default"] != builds["keep-inputs"] {
		t.Errorf("leaving the inputs out changed what kustomize builds:\n--- default\n%s\n--- keep-inputs\n%s", builds["default"], builds["keep-inputs"])
	}
}

// TestKustomizeTwoIambindTransformers: a kustomization that runs iambind-fn
// over one that already ran it (a team's kustomization under a top level
// that runs it again) would find plans without their bindings and, as for a
// removed binding, drop them; it must refuse instead, and build what one run
// builds when the inner one keeps its inputs.
func TestKustomizeTwoIambindTransformers(t *testing.T) {
	build := func(inner string) (string, string, error) {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "team"), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, dir, "team/kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml]\n")
		write(t, dir, "team/cluster.yaml", inner)
		write(t, dir, "team/binding.yaml", inputsBinding)
		write(t, dir, "kustomization.yaml", "resources: [team]\ntransformers: [cluster.yaml]\n")
		write(t, dir, "cluster.yaml", execClusterYAML(""))
		return tryKustomizeBuild(t, dir)
	}

	out, stderr, err := build(execClusterYAML(""))
	if err == nil {
		t.Fatalf("iambind-fn over a kustomization whose iambind-fn left the bindings out succeeded:\n%s", out)
	}
	for _, want := range []string{"ConfigMap web/iambind-app", "metadata.annotations.iambind.dev/binding", "IdentityBinding web/app", "iambind.dev/keep-inputs"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("error does not mention %q:\n%s", want, stderr)
		}
	}

	out, stderr, err = build(keepInputs(execClusterYAML("")))
	if err != nil {
		t.Fatalf("with iambind.dev/keep-inputs on the inner transformer: %v\n%s", err, stderr)
	}
	single := t.TempDir()
	write(t, single, "kustomization.yaml", "resources: [binding.yaml]\ntransformers: [cluster.yaml]\n")
	write(t, single, "cluster.yaml", execClusterYAML(""))
	write(t, single, "binding.yaml", inputsBinding)
	once, stderr, err := tryKustomizeBuild(t, single)
	if err != nil {
		t.Fatalf("kustomize build: %v\n%s", err, stderr)
	}
	if out != once {
		t.Errorf("two runs (the inner keeping its inputs) built something else than one:\n--- two\n%s\n--- one\n%s", out, once)
	}
}
