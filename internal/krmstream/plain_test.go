package krmstream

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// checkPlainPromise holds plainObject to what it promises where it says ok:
// yaml.v3 parses the document without error to one mapping with these
// apiVersion and kind, no duplicate key at the top or in metadata, metadata
// a mapping, annotations a mapping with an entry.
func checkPlainPromise(t *testing.T, doc string) {
	t.Helper()
	apiVersion, kind, ok := plainObject(doc)
	if !ok {
		return
	}
	nodes, err := decode(doc)
	if err != nil {
		t.Fatalf("plainObject accepted a document yaml.v3 refuses (%v):\n%s", err, doc)
	}
	if len(nodes) != 1 || checkObject(nodes[0]) != nil {
		t.Fatalf("plainObject accepted a document that is not one object:\n%s", doc)
	}
	n := nodes[0]
	if got := n.Field("apiVersion").Value.YNode().Value; got != apiVersion {
		t.Fatalf("apiVersion: plainObject read %q, yaml.v3 %q:\n%s", apiVersion, got, doc)
	}
	if got := n.Field("kind").Value.YNode().Value; got != kind {
		t.Fatalf("kind: plainObject read %q, yaml.v3 %q:\n%s", kind, got, doc)
	}
	if dup := duplicateKey(n.YNode()); dup != "" {
		t.Fatalf("plainObject accepted a duplicate key %q at the top level:\n%s", dup, doc)
	}
	meta := n.Field("metadata")
	if meta == nil {
		return
	}
	if meta.Value.YNode().Kind != yaml.MappingNode {
		t.Fatalf("plainObject accepted metadata that is not a mapping:\n%s", doc)
	}
	if dup := duplicateKey(meta.Value.YNode()); dup != "" {
		t.Fatalf("plainObject accepted a duplicate key %q in metadata:\n%s", dup, doc)
	}
	if ann := meta.Value.Field("annotations"); ann != nil {
		if a := ann.Value.YNode(); a.Kind != yaml.MappingNode || len(a.Content) == 0 {
			t.Fatalf("plainObject accepted annotations that are not a mapping with an entry:\n%s", doc)
		}
	}
}

func duplicateKey(m *yaml.Node) string {
	seen := map[string]bool{}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i].Value
		if seen[k] {
			return k
		}
		seen[k] = true
	}
	return ""
}

// plainCases are documents on both sides of the subset's edges.
var plainCases = []struct {
	doc  string
	want bool
}{
	{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n", true},
	{"\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n    app.kubernetes.io/name: x\n  name: x\nspec:\n  template:\n    spec:\n      containers:\n      - args:\n        - --listen=:8080\n        env:\n        - name: A\n          value: \"1\"\n        image: r.example.com/x:1.0\n        name: app\n      volumes:\n      - emptyDir: {}\n        name: tmp\n", true},
	{"apiVersion: v1\nkind: ConfigMap\ndata:\n  a.conf: |\n    line one\n\n    # not a comment: text\n  b: |-\n    x: y\nmetadata:\n  name: a\n", true},
	{"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    a: b\n  name: a\n", true},
	{"apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n", true},
	{"apiVersion: 'v1'\nkind: \"ConfigMap\"\n", true},
	{"kind: ConfigMap\n", false},                                          // no apiVersion
	{"apiVersion: v1\nkind: \"\"\n", false},                               // empty kind
	{"apiVersion: v1\nkind: A\nkind: B\n", false},                         // duplicate top-level key
	{"apiVersion: v1\nkind: A\nmetadata:\n  name: a\n  name: b\n", false}, // duplicate in metadata
	{"apiVersion: v1\nkind: A\nmetadata: {}\n", false},
	{"apiVersion: v1\nkind: A\nmetadata:\n  annotations: {}\n", false},
	{"apiVersion: v1\nkind: A\nmetadata:\n  annotations:\n  name: a\n", false}, // null annotations
	{"apiVersion: v1\nkind: A\nmetadata:\n  annotations:\n  - a\n", false},
	{"apiVersion: v1\nkind: A # comment\n", false},
	{"# Source: chart/templates/a.yaml\napiVersion: v1\nkind: A\n", true},
	{"apiVersion: v1\nkind: A\nspec:\n# c\n- a\n  # c\n- b\n    # c\nx: y\n", true},
	{"apiVersion: v1\nkind: A\nspec:\n  # c\n  a: |\n    t\n  # c\n    u\n", false},
	{"apiVersion: v1\nkind: A\nspec: |\n  t\n# c\n  u\n", false},
	{"apiVersion: v1\nkind: A\nspec: |\n# c\n  t\n", false},
	{"apiVersion: v1\nkind: A\n# caf\xc3\xa9\n", false},
	{"apiVersion: v1\nkind: A\nspec: &x\n  a: b\n", false},
	{"apiVersion: v1\nkind: A\nspec: *x\n", false},
	{"apiVersion: v1\nkind: A\nspec: !!str a\n", false},
	{"apiVersion: v1\nkind: A\nspec: \"a\\x41\"\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a]\n", true},
	{"apiVersion: v1\nkind: A\nspec:\n  args: [\"--listen=:8080\", '--x=a, b', -1]\n  labels: {app: web, tier: \"a b\"}\n", true},
	{"apiVersion: v1\nkind: A\nspec: [a, [b]]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a,b]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a, ]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a b]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a:b]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a?]\n", false}, // yaml.v3 ends a flow scalar at '?'
	{"apiVersion: v1\nkind: A\nspec: a?\n", true},
	{"apiVersion: v1\nkind: A\nspec: [\"a\" b]\n", false},
	{"apiVersion: v1\nkind: A\nspec: {a: b, c}\n", false},
	{"apiVersion: v1\nkind: A\nspec: {a: {b: c}}\n", false},
	{"apiVersion: v1\nkind: A\nspec: {a: b\n", false},
	{"apiVersion: v1\nkind: A\nspec: [- a]\n", false},
	{"apiVersion: v1\nkind: A\nspec: [a] x\n", false},
	{"apiVersion: v1\nkind: A\nspec: \"a\" x\n", false},
	{"apiVersion: v1\nkind: A\nspec: a: b\n", false},
	{"apiVersion: v1\nkind: A\nspec:\n  a: b\n    c: d\n", false},
	{"apiVersion: v1\nkind: A\nspec:\n\ta: b\n", false},
	{"apiVersion: v1\nkind: A\nspec: >\n  folded\n", false},
	{"apiVersion: v1\nkind: A\nspec: |\nnot indented\n", false},
	{"apiVersion: v1\nkind: A\nspec:\n", false}, // a null value
	{"apiVersion: v1\nkind: A\nspec: \"open\n", false},
	{"apiVersion: v1\nkind: A\nspec: caf\xc3\xa9\n", false},
	{"- apiVersion: v1\n  kind: A\n", false},
	{"apiVersion: v1\nkind: A\n- b\n", false},
	{"  apiVersion: v1\n  kind: A\n", false},
	{"apiVersion: v1\nkind: A\nspec:\n  - a\n  - b\n", true},
	{"apiVersion: v1\nkind: A\nspec:\n- a\n  - b\n", false},
	{"apiVersion: v1\nkind: A\nspec:\n- a\nb: c\n", true},
	{"apiVersion: v1\nkind: A\nspec:\n  a:\n  - b: c\n    d:\n    - e\n  f: g\n", true},
	{"apiVersion: v1\nkind: A\nspec: -\n", false},
	{"apiVersion: v1\nkind: A\nspec: -1\n", true},
	{"apiVersion: v1\nkind: A\nspec: @x\n", false},
	{"apiVersion: v1\nkind: A\n%YAML: x\n", false},
	{"apiVersion: v1\nkind: A\n...\n", false},
}

func TestPlainObject(t *testing.T) {
	for _, c := range plainCases {
		_, _, ok := plainObject(c.doc)
		if ok != c.want {
			t.Errorf("plainObject = %v, want %v:\n%s", ok, c.want, c.doc)
		}
		checkPlainPromise(t, c.doc)
	}
}

// Every document of the repository's stream test data and examples: what
// the recognizer accepts, yaml.v3 reads as promised.
func TestPlainObjectOnTestData(t *testing.T) {
	accepted := 0
	for _, dir := range []string{"../../fn/testdata", "../../examples", "../../generator/testdata"} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")) {
				return nil
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return nil
			}
			docs, err := split(string(data))
			if err != nil {
				return nil
			}
			for _, doc := range docs {
				if _, _, ok := plainObject(doc); ok {
					accepted++
				}
				checkPlainPromise(t, doc)
			}
			return nil
		})
	}
	if accepted < 50 {
		t.Errorf("only %d documents of the test data are plain: the recognizer is narrower than kyaml's style", accepted)
	}
}

// Line-wise mutations of accepted documents (indented, outdented, dropped,
// doubled, with an indicator, quote, comment, tab or flow bracket added at
// either end): where the recognizer still says ok, yaml.v3 agrees.
func TestPlainObjectMutations(t *testing.T) {
	extras := []string{"#", " #x", ":", ": x", "'", "\"", "[", "]", "{", "}", ",", "&a", "*a", "!", "|", ">", "-", "- ", "\t", "\\", "%", "@", "`", "?", " ", "...", "---", "\xc3"}
	tried := 0
	for _, c := range plainCases {
		if !c.want {
			continue
		}
		lines := strings.Split(c.doc, "\n")
		variant := func(i int, line string, drop, double bool) string {
			out := append([]string(nil), lines[:i]...)
			if !drop {
				out = append(out, line)
				if double {
					out = append(out, line)
				}
			}
			return strings.Join(append(out, lines[i+1:]...), "\n")
		}
		for i, line := range lines {
			docs := []string{
				variant(i, " "+line, false, false),
				variant(i, strings.TrimPrefix(line, " "), false, false),
				variant(i, line, true, false),
				variant(i, line, false, true),
			}
			for _, e := range extras {
				docs = append(docs, variant(i, line+e, false, false), variant(i, e+line, false, false))
				if n := indentOf(line); n < len(line) {
					docs = append(docs, variant(i, line[:n]+e+line[n:], false, false))
				}
			}
			for _, doc := range docs {
				tried++
				checkPlainPromise(t, doc)
			}
		}
	}
	if tried < 1000 {
		t.Errorf("only %d mutations tried", tried)
	}
}

// FuzzPlainObject: whatever the recognizer accepts, yaml.v3 reads as promised.
//
//	go test ./internal/krmstream -run '^$' -fuzz FuzzPlainObject -fuzztime 60s
func FuzzPlainObject(f *testing.F) {
	for _, c := range plainCases {
		f.Add(c.doc)
	}
	r := rand.New(rand.NewPCG(3, 4))
	for range 100 {
		f.Add(randomDocument(r))
	}
	f.Fuzz(func(t *testing.T, doc string) {
		checkPlainPromise(t, doc)
	})
}

// randomDocument writes a document near the subset's edges: random keys
// and values over every printable ASCII character, quoted or not, flow
// collections, literal blocks, comments, and indentation off by one now and
// then. Many are not plain, or not YAML at all; those that plainObject
// accepts must keep its promise.
func randomDocument(r *rand.Rand) string {
	const punct = " !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"
	word := func() string {
		n := 1 + r.IntN(6)
		b := make([]byte, n)
		for i := range b {
			if r.IntN(4) == 0 {
				b[i] = punct[r.IntN(len(punct))]
			} else {
				b[i] = "abcxyz019"[r.IntN(9)]
			}
		}
		return string(b)
	}
	key := func() string {
		if r.IntN(8) == 0 {
			return word()
		}
		return []string{"a", "b", "name", "metadata", "annotations", "x.y/z", "k-1", "apiVersion", "kind"}[r.IntN(9)]
	}
	scalar := func() string {
		switch r.IntN(6) {
		case 0:
			return `"` + word() + `"`
		case 1:
			return "'" + word() + "'"
		case 2:
			items := []string{word()}
			for r.IntN(2) == 0 {
				items = append(items, word())
			}
			if r.IntN(2) == 0 {
				return "[" + strings.Join(items, ", ") + "]"
			}
			for i := range items {
				items[i] = key() + ": " + items[i]
			}
			return "{" + strings.Join(items, ", ") + "}"
		}
		return word()
	}
	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: K\n")
	var block func(indent, depth int)
	block = func(indent, depth int) {
		for range 1 + r.IntN(4) {
			pad := strings.Repeat(" ", max(0, indent+[]int{0, 0, 0, 0, 0, 1, -1}[r.IntN(7)]))
			seq := r.IntN(4) == 0
			if seq {
				pad += "- "
			}
			switch n := r.IntN(10); {
			case n == 0:
				b.WriteString(pad + "# " + word() + "\n")
			case n == 1 && seq:
				b.WriteString(pad + scalar() + "\n")
			case n <= 3 && depth < 4:
				b.WriteString(pad + key() + ":\n")
				child := indent + 2*r.IntN(2) // a sequence under its key, or indented
				if seq {
					child += 2 // under "- key:"
				}
				block(child, depth+1)
			case n == 4:
				b.WriteString(pad + key() + ": " + []string{"|", "|-", "|+", ">"}[r.IntN(4)] + "\n")
				for range r.IntN(3) {
					b.WriteString(strings.Repeat(" ", indent+1+r.IntN(3)) + word() + "\n")
				}
			default:
				b.WriteString(pad + key() + ": " + scalar() + "\n")
			}
		}
	}
	block(0, 0)
	return b.String()
}

func TestPlainObjectRandomDocuments(t *testing.T) {
	seed, n := uint64(1), 30000
	if s := os.Getenv("PLAIN_RANDOM_SEED"); s != "" { // a longer search: PLAIN_RANDOM_SEED=7 PLAIN_RANDOM_N=2000000
		seed, _ = strconv.ParseUint(s, 10, 64)
		n, _ = strconv.Atoi(os.Getenv("PLAIN_RANDOM_N"))
	}
	r := rand.New(rand.NewPCG(seed, 2))
	accepted := 0
	for range n {
		doc := randomDocument(r)
		if _, _, ok := plainObject(doc); ok {
			accepted++
		}
		checkPlainPromise(t, doc)
		if t.Failed() {
			return
		}
	}
	t.Logf("%d of %d random documents plain", accepted, n)
	if accepted < 1000 {
		t.Errorf("only %d random documents were plain: the test explores too little of the subset", accepted)
	}
}
