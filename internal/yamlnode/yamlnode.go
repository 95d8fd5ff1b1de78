// Package yamlnode holds low-level helpers over yaml.Node trees, shared by
// the function's injection (generator) and the reconciler's reading of
// injected workloads (reconcile), so both look keys up the same way.
package yamlnode

import "sigs.k8s.io/kustomize/kyaml/yaml"

// Get returns the value of key in the mapping m, or nil when m is nil, not a
// mapping, or lacks the key. It walks the node directly: the SDK's accessors
// copy or re-walk the tree on every call, and injection touches every
// workload of large streams.
func Get(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
