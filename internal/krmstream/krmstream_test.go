package krmstream

import (
	"bytes"
	"strings"
	"testing"
)

func TestIsResourceList(t *testing.T) {
	cases := []struct {
		name, in string
		want     bool
	}{
		{"resource list", "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n", true},
		{"kind first, quoted", "kind: \"ResourceList\"\napiVersion: config.kubernetes.io/v1\n", true},
		{"after a separator and comments", "---\n# rendered by a tool\n---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\n", true},
		{"flow style", "{apiVersion: config.kubernetes.io/v1, kind: ResourceList, items: []}\n", true},
		{"json", `{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": []}`, true},
		{"a List", "apiVersion: v1\nkind: List\nitems: []\n", false},
		{"a stream", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: config.kubernetes.io/v1\nkind: ResourceList\n", false},
		{"kind in a nested mapping only", "apiVersion: v1\nmetadata:\n  name: a\nspec:\n  kind: ResourceList\nkind: ConfigMap\n", false},
		{"a block scalar holding the words", "apiVersion: v1\nkind: ConfigMap\ndata:\n  x: |\n    kind: ResourceList\n", false},
		{"empty", "", false},
		{"not yaml", "{{{{ ]]]", false},
	}
	for _, c := range cases {
		if got := IsResourceList([]byte(c.in)); got != c.want {
			t.Errorf("%s: IsResourceList = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestReadExpandsLists(t *testing.T) {
	in := `apiVersion: v1
kind: ServiceAccountList
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: a}
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: b}
---
# only a comment
---
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
`
	objs, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.GetKind()+"/"+o.GetName())
	}
	if got := strings.Join(names, " "); got != "ServiceAccount/a ServiceAccount/b ConfigMap/c" {
		t.Errorf("objects %s", got)
	}
}

func TestReadRefuses(t *testing.T) {
	cases := map[string]string{
		"apiVersion: v1\nkind: ConfigMap\n---\n- a\n- b\n":                                                "document 2: not a Kubernetes object (a YAML sequence",
		"metadata: {name: a}\n":                                                                           "document 1: not a Kubernetes object: apiVersion is missing",
		"apiVersion: v1\nkind: List\nitems:\n- {kind: ConfigMap}\n":                                       "document 1 (List): items[0]: not a Kubernetes object: apiVersion is missing",
		"apiVersion: v1\nkind: ConfigMap\n---\napiVersion: v1\nkind: [a]\n":                               "document 2: not a Kubernetes object: kind is missing or not a string",
		"apiVersion: v1\nkind: ConfigMap\n---\nkind: ResourceList\napiVersion: config.kubernetes.io/v1\n": "document 2: a ResourceList is the whole input",
		"apiVersion: v1\nkind: ConfigMap\n---\n{{{{ ]]]\n":                                                "not a YAML stream: document 2: yaml: ",
	}
	for in, want := range cases {
		_, err := Read(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Read(%q): error %v, want one containing %q", in, err, want)
		}
	}
}

// TestWriteRoundTrip: a stream in kyaml's style comes back byte for byte,
// comments included.
func TestWriteRoundTrip(t *testing.T) {
	in := `# Source: chart/templates/sa.yaml
apiVersion: v1
kind: ServiceAccount
metadata:
  name: a # the chart's
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: a
spec:
  template:
    spec:
      containers:
      - name: a
        args: ["--x", "--y"]
`
	objs, err := Read(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Write(&out, objs); err != nil {
		t.Fatal(err)
	}
	if out.String() != in {
		t.Errorf("round trip changed the stream:\n%s", out.String())
	}
}
