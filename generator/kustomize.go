package generator

import (
	"sort"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// Under kustomize, iambind-fn leaves its own inputs (IdentityClusters,
// IdentityBindings, guardrail policies) out of its output.
//
// Why: they are local-config, so kustomize drops them from what it builds
// anyway; but before it does, it merges every object a function returns back
// into its resource list with linear scans, so each object costs a pass over
// all the others (docs/benchmarks.md, "Big repositories through kustomize").
// Leaving them out makes the build's output byte-identical and cuts
// kustomize's work with iambind-fn from 1.34x to 1.26x that of a no-op
// function. kpt is untouched: there an item missing from the output is a
// deleted file, and kpt never marks items the way kustomize does.
//
// What changes is what a later transformer of the same kustomize build sees:
// no bindings. A later iambind-fn would then find plans without their
// bindings and, as it does for a removed binding, drop them, wiping the
// build's IAM wiring; so under kustomize such a plan is an error instead
// (orphanedPlans), and the annotation AnnotationKeepInputs on the
// IdentityCluster that configures the earlier transformer keeps the inputs.

const (
	// AnnotationKustomizeID is set by kustomize (api/internal/plugins/
	// utils.GetResMapWithIDAnnotation) on every item it hands an exec or
	// container function, and by nothing else iambind-fn runs under.
	AnnotationKustomizeID = "kustomize.config.k8s.io/id"
	// AnnotationKeepInputs, "true" on the function config, keeps the
	// inputs in the output under kustomize too.
	AnnotationKeepInputs = "iambind.dev/keep-inputs"
)

// leavesInputsOut tells whether this run is kustomize's and may leave the
// local-config inputs out: every item carries kustomize's id annotation
// (classify checks) and the function config does not ask to keep them.
func leavesInputsOut(in input, functionConfig *fn.KubeObject) bool {
	if functionConfig != nil && functionConfig.GetAnnotation(AnnotationKeepInputs) == "true" {
		return false
	}
	return in.underKustomize
}

// orphanedPlans reports, under kustomize only, every plan ConfigMap in the
// input whose IdentityBinding is not in the input. Outside kustomize such a
// plan is what a removed binding left in a kpt package, and dropping it is
// right; inside one build it can only come from an earlier iambind-fn that
// left the bindings out.
func orphanedPlans(in input, problems *Problems) {
	if !in.underKustomize {
		return
	}
	present := map[string]bool{}
	for _, b := range in.bindings {
		present[namespaceOf(b)+"/"+b.GetName()] = true
	}
	var orphans fn.KubeObjects
	for _, obj := range in.generatedPlans {
		if !present[obj.GetAnnotation(AnnotationBinding)] {
			orphans = append(orphans, obj)
		}
	}
	sort.SliceStable(orphans, func(i, j int) bool {
		return namespaceOf(orphans[i])+"/"+orphans[i].GetName() < namespaceOf(orphans[j])+"/"+orphans[j].GetName()
	})
	for _, obj := range orphans {
		sink := problemSink{ref: refOf(obj), problems: problems}
		sink.errorf("metadata.annotations."+AnnotationBinding,
			"this plan was generated from IdentityBinding %s, which is not in the input: an earlier iambind-fn transformer of this kustomize build left the bindings out of its output (kustomize drops them anyway). Run iambind-fn once per build, or annotate the earlier transformer's IdentityCluster with %s: \"true\"",
			obj.GetAnnotation(AnnotationBinding), AnnotationKeepInputs)
	}
}
