package generator_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
)

// extraBystanders join every golden case: app objects beside the bindings,
// a workload among them that runs as a ServiceAccount the cases bind.
var extraBystanders = []string{
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: default\nspec:\n  template:\n    spec:\n      containers:\n      - image: web:1\n        name: web\n      serviceAccountName: app\n",
	"apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n",
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: default\ndata:\n  a: b\n",
}

// Keeping the bystanders out of Generate (Options.SetAside) and putting
// them back where they stood gives what Generate gives with every object:
// the same items, problems and summary, for every golden case. A case
// where a binding injects must be refused with ErrBystandersNeeded.
func TestBystandersSetAsideGiveTheSameOutput(t *testing.T) {
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatal(err)
	}
	opts := guardrails.Options()
	withAside := opts
	withAside.SetAside = true
	compared, refused := 0, 0
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(goldenDir, e.Name())
		t.Run(e.Name(), func(t *testing.T) {
			items := append(goldenInputs(t, dir), mustParse(t, extraBystanders)...)
			full := &fn.ResourceList{Items: items, FunctionConfig: goldenFnConfig(t, dir)}
			fullOK, fullErr := generator.ProcessWith(opts)(full)

			// The same input, read again: Generate changes the objects it is given.
			items = append(goldenInputs(t, dir), mustParse(t, extraBystanders)...)
			var live, aside fn.KubeObjects
			position := map[*fn.KubeObject]int{}
			for i, obj := range items {
				position[obj] = i
				text := obj.String()
				if !strings.ContainsAny(text, `\&`) && generator.Bystander(obj.GetAPIVersion(), obj.GetKind(), text) {
					aside = append(aside, obj)
				} else {
					live = append(live, obj)
				}
			}
			if len(aside) < len(extraBystanders) {
				t.Fatalf("only %d bystanders found; the extra objects alone are %d", len(aside), len(extraBystanders))
			}
			part := &fn.ResourceList{Items: live, FunctionConfig: goldenFnConfig(t, dir)}
			partOK, partErr := generator.ProcessWith(withAside)(part)
			if errors.Is(partErr, generator.ErrBystandersNeeded) {
				refused++
				// Injection is on where a binding or cluster says so, or a cluster has discovery.
				if in := fullYAML(t, goldenInputs(t, dir)); !strings.Contains(in, "inject") && !strings.Contains(in, "discovery") {
					t.Errorf("refused with ErrBystandersNeeded, but no binding or cluster asks for injection")
				}
				return
			}
			compared++
			if partOK != fullOK || (partErr == nil) != (fullErr == nil) {
				t.Fatalf("set aside: ok=%v err=%v; with every object: ok=%v err=%v", partOK, partErr, fullOK, fullErr)
			}
			if got, want := resultsText(part.Results), resultsText(full.Results); got != want {
				t.Errorf("results differ:\nset aside:\n%s\nwith every object:\n%s", got, want)
			}
			if !fullOK {
				return // the items are the input; nothing is written
			}
			// Bystanders go back before the first object that came after
			// them, and before every generated object.
			var spliced fn.KubeObjects
			next := 0
			for _, obj := range part.Items {
				at, fromInput := position[obj]
				for next < len(aside) && (!fromInput || position[aside[next]] < at) {
					spliced = append(spliced, aside[next])
					next++
				}
				spliced = append(spliced, obj)
			}
			spliced = append(spliced, aside[next:]...)
			if got, want := fullYAML(t, spliced), fullYAML(t, full.Items); got != want {
				t.Errorf("output differs:\n%s", firstDiff(want, got))
			}
		})
	}
	if compared < 20 || refused < 3 {
		t.Errorf("compared %d cases and saw %d refused: the golden cases no longer cover both ways", compared, refused)
	}
}

// Every name by which Bystander recognizes iambind's objects holds its
// marker: a new label or annotation without it would let such an object
// pass as a bystander.
func TestOwnNameInEveryName(t *testing.T) {
	for _, name := range []string{
		generator.Group, generator.ManagedByValue, generator.LabelPlan, generator.AnnotationBinding,
		generator.AnnotationCluster, generator.AnnotationInjected, generator.AnnotationKeepInputs,
		generator.PlanNamePrefix, generator.PlanOIDCNamePrefix,
	} {
		if !strings.Contains(name, "iambind") {
			t.Errorf("%q does not contain \"iambind\"", name)
		}
	}
	for _, c := range []struct {
		kind, text string
		want       bool
	}{
		{"Deployment", "kind: Deployment\n", true},
		{"ServiceAccount", "kind: ServiceAccount\n", false},
		{"ConfigMapList", "kind: ConfigMapList\n", false},
		{"ConfigMap", "kind: ConfigMap\nmetadata:\n  name: iambind-x\n", false},
		{"Deployment", "kind: Deployment\nmetadata:\n  annotations:\n    kustomize.config.k8s.io/id: x\n", false},
	} {
		if got := generator.Bystander("v1", c.kind, c.text); got != c.want {
			t.Errorf("Bystander(%s) = %v, want %v", c.text, got, c.want)
		}
	}
}

func mustParse(t *testing.T, docs []string) fn.KubeObjects {
	t.Helper()
	objs, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func fullYAML(t *testing.T, items fn.KubeObjects) string {
	t.Helper()
	var b strings.Builder
	for _, obj := range items {
		b.WriteString(obj.String())
		b.WriteString("---\n")
	}
	return b.String()
}

func resultsText(rs fn.Results) string {
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(r.String())
		b.WriteString("\n")
	}
	return b.String()
}
