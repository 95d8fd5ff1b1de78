package generator_test

import (
	"maps"
	"path/filepath"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
)

// TestInjectionReversible: injecting and then removing the bindings gives
// back every workload exactly as the user wrote it, for each injection golden
// case; turning inject off on the cluster does the same.
func TestInjectionReversible(t *testing.T) {
	for _, c := range []string{"inject-deployment", "inject-every-kind", "inject-user-settings", "inject-wildcard"} {
		t.Run(c, func(t *testing.T) {
			dir := filepath.Join(goldenDir, c)
			original := workloadsOf(goldenInputs(t, dir))
			injected := generateItems(t, goldenInputs(t, dir))
			if maps.Equal(original, workloadsOf(injected)) {
				t.Fatal("test setup: nothing was injected")
			}
			var withoutBindings, injectOff fn.KubeObjects
			for _, obj := range injected {
				if obj.GetKind() != generator.KindBinding {
					withoutBindings = append(withoutBindings, obj.Copy())
				}
				o := obj.Copy()
				if o.GetKind() == generator.KindCluster || o.GetKind() == generator.KindBinding {
					if err := o.SetNestedField(false, "spec", "inject"); err != nil {
						t.Fatal(err)
					}
				}
				injectOff = append(injectOff, o)
			}
			for name, items := range map[string]fn.KubeObjects{"bindings removed": withoutBindings, "inject off": injectOff} {
				got := workloadsOf(generateItems(t, items))
				for id, want := range original {
					if got[id] != want {
						t.Errorf("%s: %s is not back to the user's:\n--- want\n%s--- got\n%s", name, id, want, got[id])
					}
				}
			}
		})
	}
}

func generateItems(t *testing.T, items fn.KubeObjects) fn.KubeObjects {
	t.Helper()
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("errors: %v", out.Problems)
	}
	return out.Items
}

// workloadsOf maps kind/namespace/name of every workload to its YAML.
func workloadsOf(items fn.KubeObjects) map[string]string {
	out := map[string]string{}
	for _, obj := range items {
		if _, ok := generator.PodTemplatePath(obj.GetAPIVersion(), obj.GetKind()); ok {
			out[obj.GetKind()+"/"+obj.GetNamespace()+"/"+obj.GetName()] = obj.String()
		}
	}
	return out
}
