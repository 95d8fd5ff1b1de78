package input

import (
	"fmt"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/yamlnode"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// WorkloadRef is one container of a rendered workload that iambind-fn
// injected (its pod template carries iambind.dev/injected): the consistency
// guard checks that the role in its AWS_ROLE_ARN admits the ServiceAccount
// the workload actually runs as, with the audience of its token volume.
type WorkloadRef struct {
	Namespace      string
	ServiceAccount string
	RoleARN        string
	Audience       string
	Source         string // "<file>: Deployment shop/orders, container app"
}

// injectedWorkload reads the injected containers of a workload; it returns
// nothing for workloads iambind did not inject. The shape was checked by the
// function; a workload that carries the marker but no longer has that shape
// was edited after it and is refused, since the guard could not judge it.
func injectedWorkload(file string, n *yaml.RNode, fields []string) ([]WorkloadRef, error) {
	kind := n.GetKind()
	ns := n.GetNamespace()
	if ns == "" {
		ns = "default"
	}
	where := fmt.Sprintf("%s: %s %s/%s", file, kind, ns, n.GetName())
	tmpl := n.YNode()
	for _, f := range fields {
		if tmpl = yamlnode.Get(tmpl, f); tmpl == nil {
			return nil, nil
		}
	}
	ann := yamlnode.Get(yamlnode.Get(tmpl, "metadata"), "annotations")
	if yamlnode.Get(ann, generator.AnnotationInjected) == nil {
		return nil, nil
	}
	spec := yamlnode.Get(tmpl, "spec")
	if spec == nil {
		return nil, fmt.Errorf("%s: injected by iambind-fn but its pod template has no spec", where)
	}
	sa := "default"
	for _, f := range []string{"serviceAccountName", "serviceAccount"} {
		if v := yamlnode.Get(spec, f); v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
			sa = v.Value
			break
		}
	}
	audience := generator.DefaultAudience
	for _, vol := range listValue(spec, "volumes") {
		if scalar(yamlnode.Get(vol, "name")) != generator.TokenVolumeName {
			continue
		}
		for _, src := range listValue(yamlnode.Get(vol, "projected"), "sources") {
			if a := scalar(yamlnode.Get(yamlnode.Get(src, "serviceAccountToken"), "audience")); a != "" {
				audience = a
			}
		}
	}
	var out []WorkloadRef
	for _, list := range []string{"initContainers", "containers"} {
		for _, c := range listValue(spec, list) {
			for _, e := range listValue(c, "env") {
				if scalar(yamlnode.Get(e, "name")) != generator.EnvRoleARN {
					continue
				}
				arn := scalar(yamlnode.Get(e, "value"))
				if arn == "" {
					continue
				}
				out = append(out, WorkloadRef{
					Namespace: ns, ServiceAccount: sa, RoleARN: arn, Audience: audience,
					Source: fmt.Sprintf("%s, container %s (runs as ServiceAccount %s/%s)", where, scalar(yamlnode.Get(c, "name")), ns, sa),
				})
			}
		}
	}
	return out, nil
}

func listValue(m *yaml.Node, key string) []*yaml.Node {
	if l := yamlnode.Get(m, key); l != nil && l.Kind == yaml.SequenceNode {
		return l.Content
	}
	return nil
}

func scalar(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
