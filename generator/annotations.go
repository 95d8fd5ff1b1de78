package generator

import (
	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// iambind sets annotations on input objects (local-config on clusters and
// bindings, role annotations on existing ServiceAccounts). The KRM SDK fails
// on an empty (null) `annotations:` and panics on YAML aliases there, so
// those objects are checked before anything is changed and an empty value
// is dropped right before the first write. Found by FuzzDecodeBinding
// (`metadata: {name: a, annotations: }` crashed the function).

// annotationsProblem says why metadata.annotations of obj cannot take
// iambind's annotations, or "" when it can (absent, empty, or a map of
// scalars without aliases).
func annotationsProblem(obj *fn.KubeObject) string {
	rn, err := yaml.NewRNode(nodeOf(obj)).Pipe(yaml.Lookup("metadata", "annotations"))
	if err != nil {
		return "cannot be read: " + err.Error()
	}
	if rn == nil || rn.YNode() == nil {
		return ""
	}
	n := rn.YNode()
	switch {
	case n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null":
		return ""
	case n.Kind != yaml.MappingNode:
		return "must be a map of strings for iambind to annotate this object"
	}
	for _, c := range n.Content {
		if c.Kind != yaml.ScalarNode {
			return "must be a map of strings (no lists, maps or YAML aliases) for iambind to annotate this object"
		}
	}
	return ""
}

// checkAnnotatable reports every object emit would annotate whose
// annotations it cannot write.
func checkAnnotatable(objs fn.KubeObjects, problems *Problems) {
	for _, obj := range objs {
		if msg := annotationsProblem(obj); msg != "" {
			problemSink{ref: refOf(obj), problems: problems}.errorf("metadata.annotations", "%s", msg)
		}
	}
}

// dropNullAnnotations removes an empty (null) metadata.annotations so the
// SDK can create the map; checkAnnotatable has ruled out anything else.
func dropNullAnnotations(obj *fn.KubeObject) {
	if _, _, err := obj.NestedStringMap("metadata", "annotations"); err != nil {
		_, err := obj.RemoveNestedField("metadata", "annotations")
		mustSet(err)
	}
}
