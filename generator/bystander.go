package generator

import (
	"errors"
	"strings"
)

// Bystanders are the objects of a stream that Generate passes through
// untouched and that change nothing of what it does with the rest: in a
// `kustomize build` stream, most of them (Deployments, Services,
// ConfigMaps). A caller that can tell them apart without parsing them
// (iambind-fn in stream mode) keeps them out of Generate and writes them
// back as they came, with Options.SetAside.

// Bystander tells, from a document's text and the apiVersion and kind read
// from it, whether the object is a bystander. The text must be the whole
// document and hold no escape sequences and no aliases (the caller has read
// it as plain YAML): then every key and value of the object is a piece of
// the text, and one without "iambind" in it is not an iambind.dev object,
// carries no iambind label or annotation (plans, generated
// ServiceAccounts, injection markers), and is no ConfigMap whose name a
// plan or discovery plan could take. ServiceAccounts (which bindings
// claim and annotate), Lists (which stand for their items) and objects
// with kustomize's id annotation (which marks a run as kustomize's) are
// never bystanders. A workload is one only while no binding injects:
// GenerateWith checks that under Options.SetAside.
func Bystander(apiVersion, kind, text string) bool {
	_ = apiVersion // the group is in the text: ownName rules out iambind.dev
	return kind != "ServiceAccount" && !strings.HasSuffix(kind, "List") &&
		!strings.Contains(text, ownName) && !strings.Contains(text, AnnotationKustomizeID)
}

// ownName is in every name iambind gives or reads: its API group, labels,
// annotations and the names of its plan ConfigMaps (TestOwnNameInEveryName).
const ownName = "iambind"

// ErrBystandersNeeded is what a run under Options.SetAside reports when a
// planned binding injects: the workloads among the bystanders may need
// changing, so the caller must run again with every object.
var ErrBystandersNeeded = errors.New("internal: a binding injects, and the objects set aside may be workloads to inject")

func injects(planned []*plannedBinding) bool {
	for _, pb := range planned {
		if pb.inject != nil {
			return true
		}
	}
	return false
}
