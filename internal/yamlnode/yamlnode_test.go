package yamlnode

import (
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

func TestGet(t *testing.T) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("a: 1\nb: {c: x}\nlist: [1]\n"), &doc); err != nil {
		t.Fatal(err)
	}
	m := doc.Content[0]
	if got := Get(m, "a"); got == nil || got.Value != "1" {
		t.Errorf("Get(a) = %v, want the scalar 1", got)
	}
	if got := Get(Get(m, "b"), "c"); got == nil || got.Value != "x" {
		t.Errorf("Get(Get(b), c) = %v, want the scalar x", got)
	}
	for _, tc := range []struct {
		name string
		m    *yaml.Node
		key  string
	}{
		{"missing key", m, "z"},
		{"nil mapping", nil, "a"},
		{"scalar", Get(m, "a"), "a"},
		{"sequence", Get(m, "list"), "1"},
	} {
		if got := Get(tc.m, tc.key); got != nil {
			t.Errorf("%s: Get = %v, want nil", tc.name, got)
		}
	}
}
