package generator

import (
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// markedByKustomize gives every object kustomize's id annotation, as
// kustomize does before it hands items to a function.
func markedByKustomize(t *testing.T, objs fn.KubeObjects) fn.KubeObjects {
	t.Helper()
	for _, o := range objs {
		if err := o.SetAnnotation(AnnotationKustomizeID, "kind: "+o.GetKind()+"\nname: "+o.GetName()+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	return objs
}

func kindsOf(items fn.KubeObjects) string {
	var kinds []string
	for _, o := range items {
		kinds = append(kinds, o.GetKind()+" "+o.GetName())
	}
	return strings.Join(kinds, ", ")
}

func TestLeavesInputsOutUnderKustomizeOnly(t *testing.T) {
	docs := []string{validCluster(""), bindingDoc("web", "app", "clusters: [prod]\nserviceAccounts: [{name: app}]\n"), saDoc("web", "other", "")}
	keep := strings.Replace(validCluster(""), "metadata:\n", "metadata:\n  annotations:\n    "+AnnotationKeepInputs+": \"true\"\n", 1)

	for _, tc := range []struct {
		name      string
		objs      func() fn.KubeObjects
		fnConfig  string
		wantInput bool // clusters and bindings in the output
	}{
		{"kpt or no orchestrator", func() fn.KubeObjects { return parseObjects(t, docs...) }, "", true},
		{"kustomize", func() fn.KubeObjects { return markedByKustomize(t, parseObjects(t, docs...)) }, "", false},
		{"kustomize, one item unmarked", func() fn.KubeObjects {
			objs := markedByKustomize(t, parseObjects(t, docs...))
			if err := objs[2].RemoveAnnotation(AnnotationKustomizeID); err != nil {
				t.Fatal(err)
			}
			return objs
		}, "", true},
		{"kustomize, keep-inputs on the function config", func() fn.KubeObjects {
			return markedByKustomize(t, parseObjects(t, docs[1:]...))
		}, keep, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := Generate(tc.objs(), parseObject(t, tc.fnConfig))
			if out.Problems.HasErrors() {
				t.Fatalf("errors:\n%s", problemsString(out.Problems))
			}
			hasBinding := strings.Contains(kindsOf(out.Items), "IdentityBinding app")
			if hasBinding != tc.wantInput {
				t.Errorf("binding in output = %v, want %v; output: %s", hasBinding, tc.wantInput, kindsOf(out.Items))
			}
			// What is emitted besides the inputs is the same either way.
			for _, want := range []string{"ServiceAccount other", "ConfigMap iambind-app", "ServiceAccount app"} {
				if !strings.Contains(kindsOf(out.Items), want) {
					t.Errorf("output lacks %s: %s", want, kindsOf(out.Items))
				}
			}
			leftOut := strings.Contains(out.Summary, "left out of the output")
			if leftOut == tc.wantInput {
				t.Errorf("summary %q: says inputs were left out = %v", out.Summary, leftOut)
			}
		})
	}
}

func TestOrphanedPlanUnderKustomizeIsAnError(t *testing.T) {
	cluster := validCluster("")
	binding := bindingDoc("web", "app", "clusters: [prod]\nserviceAccounts: [{name: app}]\n")
	first := Generate(parseObjects(t, cluster, binding), nil)
	if first.Problems.HasErrors() {
		t.Fatalf("errors:\n%s", problemsString(first.Problems))
	}
	// The generated objects, without the binding that made them.
	var generated []string
	for _, o := range first.Items {
		if o.GetKind() == "ConfigMap" || o.GetKind() == "ServiceAccount" {
			generated = append(generated, o.String())
		}
	}

	// In a kpt package this is a removed binding: its output goes, quietly.
	kpt := Generate(parseObjects(t, append([]string{cluster}, generated...)...), nil)
	if kpt.Problems.HasErrors() || strings.Contains(kindsOf(kpt.Items), "iambind-app") {
		t.Fatalf("outside kustomize a removed binding's plan must go without error: %s\n%s", kindsOf(kpt.Items), problemsString(kpt.Problems))
	}

	// Inside one kustomize build it can only be an earlier run's: refuse.
	kust := Generate(markedByKustomize(t, parseObjects(t, generated...)), parseObject(t, cluster))
	p, found := findProblem(kust.Problems, SeverityError, "metadata.annotations."+AnnotationBinding, "IdentityBinding web/app")
	if !found {
		t.Fatalf("no error on the orphaned plan:\n%s", problemsString(kust.Problems))
	}
	if p.Resource.Kind != "ConfigMap" || p.Resource.Name != "iambind-app" || !strings.Contains(p.Message, AnnotationKeepInputs) {
		t.Errorf("error = %s", p)
	}
	if itemsYAML(kust.Items) != itemsYAML(markedByKustomize(t, parseObjects(t, generated...))) {
		t.Error("on error the output must be the input, untouched")
	}
}
