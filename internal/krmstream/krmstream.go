// Package krmstream reads and writes plain multi-document YAML streams of
// Kubernetes objects — what `kustomize build`, `helm template`, a Helm
// post-renderer hook and `kubectl apply -f -` pass around — with kyaml, the
// library kustomize reads and writes them with, so a stream comes back with
// the comments, key order and formatting kustomize would give it.
package krmstream

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// IsResourceList tells whether data is a KRM ResourceList (what kustomize
// and kpt hand a function) rather than a plain stream of objects.
//
// It reads the top-level kind of the first document from its text: a
// ResourceList is one document holding the whole input, and parsing it
// twice would cost what the function itself costs. A top-level key is the
// only thing that can start a line at column 0 in a block mapping; only a
// flow-style or JSON document lacks such a line, and that one is parsed.
func IsResourceList(data []byte) bool {
	first := firstDocument(data)
	if m := topLevelKind.FindSubmatch(first); m != nil {
		return string(m[1]) == kio.ResourceListKind
	}
	var head struct {
		Kind string `yaml:"kind"`
	}
	if err := yaml.NewDecoder(bytes.NewReader(first)).Decode(&head); err != nil {
		return false
	}
	return head.Kind == kio.ResourceListKind
}

// firstDocument returns the text of the first document with content: a
// stream may open with a separator, or with a document of comments only.
func firstDocument(data []byte) []byte {
	for len(data) > 0 {
		doc, rest := data, []byte(nil)
		if loc := separator.FindIndex(data); loc != nil {
			doc, rest = data[:loc[0]], data[loc[1]:]
		}
		if content.Match(doc) {
			return doc
		}
		data = rest
	}
	return nil
}

var (
	// A line that is neither blank nor a comment.
	content = regexp.MustCompile(`(?m)^[ \t]*[^ \t\r\n#]`)
	// A document separator line, as kyaml's ByteReader finds them; what
	// follows the dashes is checked by split.
	separator     = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)
	separatorLine = regexp.MustCompile(`(?m)^---(.*)$`)
	topLevelKind  = regexp.MustCompile(`(?m)^kind:[ \t]*["']?([^"'\s#]*)`)
)

// Read parses a multi-document YAML stream into objects, in stream order.
// Empty documents (a Helm template that rendered nothing) are skipped; a
// List (kind List, or any kind ending in List, with an items sequence, as
// `kubectl get -o yaml` writes) stands for its items. A document that is
// not YAML, or not a Kubernetes object, is an error naming the document
// (counted from 1 at the top; each separator starts the next).
//
// The stream is split as kyaml's ByteReader splits it, and each document is
// read by a ByteReader of its own, on every CPU: parsing is most of the
// cost of a stream, and its documents do not depend on each other.
func Read(r io.Reader) (fn.KubeObjects, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	docs, err := split(string(data))
	if err != nil {
		return nil, fmt.Errorf("not a YAML stream: %v", err)
	}
	nodes := make([][]*yaml.RNode, len(docs))
	errs := make([]error, len(docs))
	parallel(len(docs), func(i int) {
		defer recoverInto(&errs[i])
		reader := &kio.ByteReader{Reader: strings.NewReader(docs[i]), OmitReaderAnnotations: true, DisableUnwrapping: true}
		nodes[i], errs[i] = reader.Read()
	})
	var objs fn.KubeObjects
	for i := range docs {
		if errs[i] != nil {
			msg := strings.TrimPrefix(oneLine(errs[i].Error()), "MalformedYAMLError: ")
			return nil, fmt.Errorf("not a YAML stream: document %d: %s", i+1, msg)
		}
		for _, n := range nodes[i] {
			expanded, err := expandList(n, i+1)
			if err != nil {
				return nil, err
			}
			for _, e := range expanded {
				objs = append(objs, fn.MoveToKubeObject(e))
			}
		}
	}
	return objs, nil
}

// split cuts a stream into its documents at separator lines, as kyaml's
// ByteReader does (which refuses a separator followed by anything but a
// comment), less the empty text before a leading separator.
func split(s string) ([]string, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var docs []string
	prev := 0
	for _, loc := range separatorLine.FindAllStringSubmatchIndex(s, -1) {
		if rest := strings.TrimSpace(s[loc[2]:loc[3]]); rest != "" && rest[0] != '#' {
			return nil, fmt.Errorf("invalid document separator: %s", strings.TrimSpace(s[loc[0]:loc[1]]))
		}
		if loc[0] > 0 {
			docs = append(docs, s[prev:loc[0]])
		}
		prev = loc[1]
	}
	return append(docs, s[prev:]), nil
}

// recoverInto turns a panic of kyaml or the SDK on hostile YAML (aliases
// where a string belongs) into an error: on a worker goroutine no caller's
// recover can catch it.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("malformed input (YAML aliases in apiVersion, kind or metadata are not supported): %v", p)
	}
}

// parallel runs f(0) … f(n-1) on GOMAXPROCS goroutines.
func parallel(n int, f func(i int)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		})
	}
	wg.Wait()
}

// expandList returns the objects of document n (1-based, counting
// non-empty documents): its items when it is a List, else itself.
func expandList(node *yaml.RNode, n int) ([]*yaml.RNode, error) {
	if err := checkObject(node); err != nil {
		return nil, fmt.Errorf("document %d: %w", n, err)
	}
	kind := node.GetKind()
	if kind == kio.ResourceListKind {
		return nil, fmt.Errorf("document %d: a ResourceList is the whole input of a KRM function, not one document of a stream", n)
	}
	items := node.Field("items")
	if !strings.HasSuffix(kind, "List") || items == nil || items.Value.YNode().Kind != yaml.SequenceNode {
		return []*yaml.RNode{node}, nil
	}
	var out []*yaml.RNode
	for j, item := range items.Value.Content() {
		rn := yaml.NewRNode(item)
		if err := checkObject(rn); err != nil {
			return nil, fmt.Errorf("document %d (%s): items[%d]: %w", n, kind, j, err)
		}
		out = append(out, rn)
	}
	return out, nil
}

// checkObject refuses what no Kubernetes tool would accept as an object:
// it must be a mapping with a string apiVersion and kind.
func checkObject(node *yaml.RNode) error {
	if node.YNode().Kind != yaml.MappingNode {
		return fmt.Errorf("not a Kubernetes object (a YAML %s, not a mapping with apiVersion and kind)", kindName(node.YNode().Kind))
	}
	for _, field := range []string{"apiVersion", "kind"} {
		f := node.Field(field)
		if f == nil || f.Value.YNode().Kind != yaml.ScalarNode || f.Value.YNode().Value == "" {
			return fmt.Errorf("not a Kubernetes object: %s is missing or not a string", field)
		}
	}
	return nil
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "sequence"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// Write writes objs to w as a multi-document YAML stream, in order, in
// kyaml's style (indent 2, compact sequences: what kio.ByteWriter and
// kustomize write). The objects are moved out: objs is empty afterwards.
//
// Why not kio.ByteWriter: it copies every node, then runs one encoder over
// the whole stream, and the encoder's event buffer grows with everything
// written so far: 4 s and 1 GB for 10k objects (BenchmarkStream). An
// encoder per document writes the same bytes; the documents are encoded on
// every CPU, then written in order.
func Write(w io.Writer, objs fn.KubeObjects) error {
	encoded := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	parallel(len(objs), func(i int) {
		defer recoverInto(&errs[i])
		node := objs[i].MoveToResourceNode().YNode()
		objs[i] = nil
		var buf bytes.Buffer
		enc := yaml.NewEncoderWithOptions(&buf, &yaml.EncoderOptions{SeqIndent: yaml.CompactSequenceStyle})
		if errs[i] = enc.Encode(node); errs[i] == nil {
			errs[i] = enc.Close()
		}
		encoded[i] = buf.Bytes()
	})
	for i, doc := range encoded {
		if errs[i] != nil {
			return errs[i]
		}
		if i > 0 {
			if _, err := io.WriteString(w, "---\n"); err != nil {
				return err
			}
		}
		if _, err := w.Write(doc); err != nil {
			return err
		}
	}
	return nil
}

// FileAnnotations are the annotations that tell kpt which file of a package
// an object lives in. A stream has no files: kustomize drops them from its
// output, and a stream written for Helm or kubectl should not carry them.
var FileAnnotations = []string{
	kioutil.PathAnnotation, kioutil.IndexAnnotation,
	//lint:ignore SA1019 the legacy annotations are cleared too: older kpt tools write them
	kioutil.LegacyPathAnnotation, kioutil.LegacyIndexAnnotation,
}

// ClearFileAnnotations removes FileAnnotations from obj, and its
// annotations map when that leaves it empty.
func ClearFileAnnotations(obj *fn.KubeObject) error {
	for _, k := range FileAnnotations {
		if _, has := obj.GetAnnotations()[k]; has {
			if err := obj.RemoveAnnotation(k); err != nil {
				return err
			}
		}
	}
	return obj.RemoveAnnotationsIfEmpty()
}

// oneLine keeps an error to one line: kyaml's parse errors end in a
// newline-separated stack of wrapped messages.
func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
