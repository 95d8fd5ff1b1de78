package input

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/kio"
)

// readWhole is the reader as it was before it streamed: kio.ByteReader
// decodes the whole stream, then each document is added. The streaming
// reader must read exactly what it read, errors included.
func readWhole(file string, data []byte) (*Input, error) {
	nodes, err := (&kio.ByteReader{
		Reader:                bytes.NewReader(data),
		OmitReaderAnnotations: true,
		DisableUnwrapping:     true,
	}).Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	in := &Input{}
	byName := map[string]*DesiredRole{}
	for _, n := range nodes {
		if err := in.addNodeSafely(file, n, byName); err != nil {
			return nil, err
		}
	}
	sort.Slice(in.Roles, func(i, j int) bool {
		a, b := in.Roles[i], in.Roles[j]
		return a.Name < b.Name || a.Name == b.Name && a.ARN < b.ARN
	})
	return in, nil
}

// sameRead fails the test when the streaming reader, from stdin and from a
// file (read again, its text not kept), does not read data as readWhole.
func sameRead(t *testing.T, data []byte) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "plan.yaml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	spool := t.TempDir() // stdin's spool files go here, to be counted
	t.Setenv("TMPDIR", spool)
	for _, mode := range []struct {
		name, file string
		read       func() (*Input, error)
		keep       int
	}{
		{"stdin", "<stdin>", func() (*Input, error) { return ReadInputs([]string{"-"}, bytes.NewReader(data)) }, 0},
		{"stdin spooled", "<stdin>", func() (*Input, error) { return readInputs([]string{"-"}, bytes.NewReader(data), -1) }, -1},
		{"file read again", file, func() (*Input, error) { return readInputs([]string{file}, nil, -1) }, -1},
		{"file", file, func() (*Input, error) { return ReadInputs([]string{file}, nil) }, 0},
	} {
		want, wantErr := readWhole(mode.file, data)
		got, err := mode.read()
		if left, _ := filepath.Glob(filepath.Join(spool, "*")); len(left) > 0 {
			t.Fatalf("%s: left %v behind", mode.name, left)
		}
		if fmt.Sprint(err) != fmt.Sprint(wantErr) {
			t.Fatalf("%s: error\n  %v\nwant\n  %v", mode.name, err, wantErr)
		}
		if err != nil {
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: read\n  %+v\nwant\n  %+v", mode.name, got, want)
		}
	}
}

// asResourceList wraps a stream's documents as the items of one
// ResourceList, with the items' dashes at column indent.
func asResourceList(stream string, indent int, tail string) string {
	pad := strings.Repeat(" ", indent)
	var b strings.Builder
	b.WriteString("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")
	for _, doc := range strings.Split(stream, "\n---\n") {
		for i, line := range strings.Split(strings.TrimRight(doc, "\n"), "\n") {
			switch {
			case i == 0:
				b.WriteString(pad + "- " + line + "\n")
			case line == "":
				b.WriteString("\n")
			default:
				b.WriteString(pad + "  " + line + "\n")
			}
		}
	}
	b.WriteString(tail)
	return b.String()
}

// readCases are streams whose layout the streaming reader must judge
// right: each is read as readWhole reads it (see FuzzReadStreamMatchesWhole).
func readCases(t testing.TB) [][]byte {
	good := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"), bindingYAML("shop", "cart"))
	bad := strings.Replace(good, `"name": "shop-orders"`, `"nam": "shop-orders"`, 1)
	list := asResourceList(good, 0, "")
	var cases []string
	for _, s := range []string{good, bad} {
		cases = append(cases, s,
			asResourceList(s, 0, ""),
			asResourceList(s, 2, ""),
			asResourceList(s, 0, "results:\n- message: done\n  severity: info\n"),
			"# head\n\n"+asResourceList(s, 4, "functionConfig: {a: b}\n"),
			strings.ReplaceAll(asResourceList(s, 0, ""), "\n", "\r\n"),
			strings.Replace(asResourceList(s, 0, ""), "kind: ResourceList\n", "", 1)+"kind: List\n",
			"items:\n"+strings.TrimPrefix(asResourceList(s, 0, ""), "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n")+"kind: List\napiVersion: v1\n",
			asResourceList(s, 0, "")+"---\n"+s,
			"---\n"+asResourceList(s, 0, ""),
			"--- #c\n"+asResourceList(s, 2, ""),
			"---#c\n"+asResourceList(s, 0, ""),
			"--- !!map\n"+asResourceList(s, 0, ""),
		)
	}
	cases = append(cases,
		// A plan error, then a YAML error later in the same list: the YAML error.
		asResourceList(bad, 0, "- a: [\n"),
		// A plan error, then a YAML error in a later document.
		bad+"---\na: [\n",
		asResourceList(bad, 0, "")+"---\nkey: {\n",
		// A plan error, then a bad separator: the separator.
		bad+"---x\n",
		// An alias to another item, a cut inside a quoted and a flow value.
		"kind: List\nitems:\n- &a {apiVersion: v1, kind: ServiceAccount, metadata: {name: a, annotations: {eks.amazonaws.com/role-arn: x}}}\n- *a\n",
		"kind: List\nitems:\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: \"a\n- b\", annotations: {eks.amazonaws.com/role-arn: x}}}\n",
		"kind: List\nitems:\n- {apiVersion: v1, kind: ServiceAccount,\n- metadata: {name: a}}\n",
		"kind: List\nitems:\n- apiVersion: v1\n  kind: ServiceAccount\n  metadata:\n    name: a\n    annotations:\n      eks.amazonaws.com/role-arn: x\n  x: |\n    text\n- apiVersion: v1\n",
		// Items given twice, inline, as a mapping, null, empty.
		"kind: List\nitems:\n- {kind: ServiceAccount}\nitems:\n- {kind: ServiceAccount}\n",
		"kind: List\nitems: []\n",
		"kind: List\nitems:\n  a: b\n",
		"kind: List\nitems:\n",
		"kind: List\nitems: # none\n\nmetadata: {name: x}\n",
		// Not a list after all; a ConfigMap whose field is called items.
		"kind: ConfigMap\napiVersion: v1\nmetadata: {name: c}\nitems:\n- a\n- b\n",
		"apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: s\n  annotations: {eks.amazonaws.com/role-arn: arn}\nitems:\n- x\n",
		// Odd layouts the cut gives up on, and odd line breaks.
		"kind: List\nitems:\n\t- a\n",
		"kind: List\nitems:\n  - a: 1\n - b\n",
		"kind: List\r\nitems:\r- a: 1\r\n",
		"kind: List\nitems:\n- a: \"x\u2028- y\"\n",
		"%YAML 1.2\n---\nkind: List\nitems:\n- a: 1\n",
		"kind: List\nitems:\n- a: 1\n...\n- b: 2\n",
		// A nested List, an item that is not a mapping, metadata as a list.
		"kind: ResourceList\nitems:\n- kind: List\n  items:\n  - apiVersion: v1\n    kind: ServiceAccount\n    metadata: {name: n, annotations: {eks.amazonaws.com/role-arn: arn}}\n",
		"kind: ResourceList\nitems:\n- just a string\n",
		"kind: ResourceList\nitems:\n- {apiVersion: v1, kind: ServiceAccount}\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: [a]\n",
		"kind: ResourceList\nmetadata: [x]\nitems:\n- {apiVersion: v1, kind: ServiceAccount, metadata: {name: a}}\n",
		// The same plan twice in one list, then differently.
		list+strings.TrimPrefix(list, "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"),
		"", "\n", "---\n", "---\n---\n", "# only a comment\n", "kind: List\nitems:\n- a\n---",
	)
	var out [][]byte
	for _, c := range cases {
		out = append(out, []byte(c))
	}
	for _, glob := range []string{"../testdata/bad/*.yaml", "../testdata/bad/ok/*.yaml", "../../examples/*/expected.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, f := range files {
			if data, err := os.ReadFile(f); err == nil {
				out = append(out, data, []byte(asResourceList(string(data), 0, "")))
			}
		}
	}
	return out
}

// FuzzReadStreamMatchesWhole: whatever the input, the streaming reader reads
// what the whole decode read (the same Input, or the same error).
func FuzzReadStreamMatchesWhole(f *testing.F) {
	for _, c := range readCases(f) {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		sameRead(t, data)
	})
}

// countingFile is a file whose ReadAt calls (whole decodes of a document
// whose text was not kept) are counted.
type countingFile struct {
	*bytes.Reader
	readAts int
}

func (c *countingFile) ReadAt(p []byte, off int64) (int, error) {
	c.readAts++
	return c.Reader.ReadAt(p, off)
}

// TestReadStreamsListItems: a rendered ResourceList is read item by item,
// never decoded whole; a layout the cut cannot judge is decoded whole.
func TestReadStreamsListItems(t *testing.T) {
	good := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"), bindingYAML("shop", "cart"))
	for _, tc := range []struct {
		name    string
		input   string
		streams bool
	}{
		{"ResourceList", asResourceList(good, 0, "results:\n- message: done\n"), true},
		{"indented items", asResourceList(good, 2, ""), true},
		{"CRLF", strings.ReplaceAll(asResourceList(good, 0, ""), "\n", "\r\n"), true},
		{"a leading document marker", "--- # plan\n" + asResourceList(good, 0, ""), true},
		{"alias to another item", asResourceList(good, 0, "") + "- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: &d {k: v}}\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}, data: *d}\n", false},
		{"a stream of documents", good, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &countingFile{Reader: bytes.NewReader([]byte(tc.input))}
			in := &Input{keepText: -1}
			if err := in.readStream("plan.yaml", f, nil, map[string]*DesiredRole{}); err != nil {
				t.Fatal(err)
			}
			if len(in.Roles) != 2 || len(in.ServiceAccounts) != 2 {
				t.Fatalf("%d roles, %d ServiceAccounts, want 2 and 2", len(in.Roles), len(in.ServiceAccounts))
			}
			if streamed := f.readAts == 0; streamed != tc.streams {
				t.Errorf("streamed = %v (%d whole decodes), want %v", streamed, f.readAts, tc.streams)
			}
		})
	}
}
