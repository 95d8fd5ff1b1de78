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

// A stream in a style of its own: sequences indented under their key,
// padded values, a document-level comment, a trailing comment.
const ownStyle = `# Source: chart/templates/svc.yaml
apiVersion:   v1
kind: Service
metadata:
  name: web
spec:
  ports:
    - port: 80     # http
      targetPort: 8080
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  labels:
    team:   shop
`

// TestStreamWriteKeepsUnchangedDocuments: an object nobody changed is
// written as the text it was read from, whatever its style; a changed one
// is encoded in kyaml's style.
func TestStreamWriteKeepsUnchangedDocuments(t *testing.T) {
	s, err := ReadStream(strings.NewReader(ownStyle))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Objects[1].SetAnnotation("example.com/touched", "here"); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := s.Write(&out, s.Objects); err != nil {
		t.Fatal(err)
	}
	docs := strings.SplitN(out.String(), "---\n", 2)
	if want := ownStyle[:strings.Index(ownStyle, "---\n")]; docs[0] != want {
		t.Errorf("the unchanged Service was rewritten:\n%s\nwant\n%s", docs[0], want)
	}
	want := `apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  labels:
    team: shop
  annotations:
    example.com/touched: here
`
	if docs[1] != want {
		t.Errorf("the changed ServiceAccount:\n%s\nwant (kyaml's style)\n%s", docs[1], want)
	}
}

// TestStreamWriteEncodesWhatHasNoTextOfItsOwn: objects of a List, and
// documents whose text would carry a directive or an end marker into the
// middle of the output, are encoded, as is every object given to the
// package's Write.
func TestStreamWriteEncodesWhatHasNoTextOfItsOwn(t *testing.T) {
	cases := map[string]struct{ in, want string }{
		"list item": {
			in:   "apiVersion: v1\nkind: List\nitems:\n  - apiVersion:  v1\n    kind: ConfigMap\n    metadata: {name: a}\n",
			want: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
		},
		"items of a List": {
			in:   "apiVersion: v1\nkind: List\nitems:\n  - apiVersion:  v1\n    kind: ConfigMap\n    metadata: {name: a}\n  - {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
			want: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n{apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n",
		},
		"end marker": {
			in:   "apiVersion:  v1\nkind: ConfigMap\nmetadata:\n  name: a\n...\n",
			want: "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
		},
	}
	for name, c := range cases {
		s, err := ReadStream(strings.NewReader(c.in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var out bytes.Buffer
		if err := s.Write(&out, s.Objects); err != nil {
			t.Fatal(err)
		}
		if out.String() != c.want {
			t.Errorf("%s: wrote\n%s\nwant\n%s", name, out.String(), c.want)
		}
	}

	objs, err := Read(strings.NewReader(ownStyle))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Write(&out, objs); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "apiVersion:   v1") || strings.Contains(out.String(), "    - port") {
		t.Errorf("Write kept a document's own style:\n%s", out.String())
	}
}

// TestFingerprintSeesEveryChange: each thing the encoder writes changes the
// fingerprint.
func TestFingerprintSeesEveryChange(t *testing.T) {
	s, err := ReadStream(strings.NewReader("apiVersion: v1\nkind: ConfigMap # c\nmetadata:\n  name: a\ndata:\n  k: 'v'\n"))
	if err != nil {
		t.Fatal(err)
	}
	root := s.Objects[0].MoveToResourceNode().YNode()
	before := fingerprint(s.seed, root)
	value := root.Content[7].Content[1] // data.k's value
	kind := root.Content[3]
	for name, change := range map[string]func(){
		"value":        func() { value.Value = "w" },
		"style":        func() { value.Style = 0 },
		"tag":          func() { value.Tag = "!!int" },
		"line comment": func() { kind.LineComment = "# d" },
		"head comment": func() { kind.HeadComment = "# h" },
		"foot comment": func() { kind.FootComment = "# f" },
		"anchor":       func() { value.Anchor = "x" },
		"kind":         func() { value.Kind = 0 },
		"content":      func() { root.Content = root.Content[:6] },
	} {
		saved := *root
		savedValue, savedKind := *value, *kind
		change()
		if fingerprint(s.seed, root) == before {
			t.Errorf("changing the %s kept the fingerprint", name)
		}
		*root, *value, *kind = saved, savedValue, savedKind
		if fingerprint(s.seed, root) != before {
			t.Fatalf("restoring the %s did not restore the fingerprint", name)
		}
	}
}
