// Package krmstream reads and writes plain multi-document YAML streams of
// Kubernetes objects — what `kustomize build`, `helm template`, a Helm
// post-renderer hook and `kubectl apply -f -` pass around — with kyaml, the
// library kustomize reads and writes them with, so a stream comes back with
// the comments, key order and formatting kustomize would give it.
//
// A caller that needs only some of a stream's objects (ReadInputSettingAside)
// gets the others kept apart unparsed, when their text is plain YAML
// (plain.go), and written back where they stood.
package krmstream

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"
	"io"
	"regexp"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/kio/kioutil"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/parallel"
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
	separator    = regexp.MustCompile(`(?m)^---[ \t]*(#.*)?$`)
	topLevelKind = regexp.MustCompile(`(?m)^kind:[ \t]*["']?([^"'\s#]*)`)
)

// Read parses a multi-document YAML stream into objects, in stream order.
// Empty documents (a Helm template that rendered nothing) are skipped; a
// List (kind List, or any kind ending in List, with an items sequence, as
// `kubectl get -o yaml` writes) stands for its items. A document that is
// not YAML, or not a Kubernetes object, is an error naming the document
// (counted from 1 at the top; each separator starts the next).
func Read(r io.Reader) (fn.KubeObjects, error) {
	s, err := ReadStream(r)
	if err != nil {
		return nil, err
	}
	return s.Objects, nil
}

// A Stream is a parsed stream: its objects, and for each object that was a
// document of its own, the document's text and a fingerprint of the tree
// it parsed to. Write passes an object through as that text while the tree
// still has the fingerprint: an object nobody changed comes out as it came
// in, and encoding it, most of a stream's cost, is skipped.
//
// A stream read with ReadInputSettingAside holds, beside its Objects, the
// documents set aside: Write puts each back before the first object that
// came after it in the input, and before any object that was not in it.
type Stream struct {
	Objects fn.KubeObjects
	read    map[*fn.KubeObject]document
	aside   []asideDocument // in input order
	seed    maphash.Seed
}

// document is one object's source: the index of its document in the input,
// and when its text can stand for it, that text and its tree's fingerprint
// then (0 when not).
type document struct {
	index       int
	text        string
	fingerprint uint64
}

// asideDocument is a document set aside, unparsed.
type asideDocument struct {
	index int
	text  string // as split cut it
}

// ReadStream is Read, remembering each object's text for Stream.Write.
//
// The stream is split as kyaml's ByteReader splits it, and the documents
// are decoded on every CPU: parsing is most of the cost of a stream, and
// its documents do not depend on each other.
func ReadStream(r io.Reader) (*Stream, error) {
	in, err := ReadInput(r)
	if err != nil {
		return nil, err
	}
	return in.Stream()
}

// Stream parses the input: the documents decoded during the read are taken
// as they are, the others decoded now, on every CPU.
func (in *Input) Stream() (*Stream, error) {
	docs, err := split(string(in.Data))
	if err != nil {
		return nil, fmt.Errorf("not a YAML stream: %v", err)
	}
	decoded := make([]decoded, len(docs))
	var rest []int
	for i, doc := range docs {
		if d, ok := in.take(doc); ok {
			decoded[i] = d
		} else {
			rest = append(rest, i)
		}
	}
	parallel.Each(len(rest), func(j int) {
		i := rest[j]
		decoded[i] = in.decodeDocument(docs[i])
	})
	s := &Stream{read: map[*fn.KubeObject]document{}, seed: in.seed}
	for i, d := range decoded {
		if d.aside {
			s.aside = append(s.aside, asideDocument{index: i, text: docs[i]})
			continue
		}
		if err := s.add(d, i, docs[i]); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// add appends the objects of document i, decoded as d, to s.Objects.
func (s *Stream) add(d decoded, i int, doc string) error {
	if d.err != nil {
		msg := strings.TrimPrefix(oneLine(d.err.Error()), "MalformedYAMLError: ")
		return fmt.Errorf("not a YAML stream: document %d: %s", i+1, msg)
	}
	for _, n := range d.nodes {
		expanded, err := expandList(n, i+1)
		if err != nil {
			return err
		}
		for _, e := range expanded {
			obj := fn.MoveToKubeObject(e)
			s.Objects = append(s.Objects, obj)
			source := document{index: i}
			if d.print != 0 && e == n { // the document itself, not an item of a List
				source.text, source.fingerprint = sourceText(doc), d.print
			}
			s.read[obj] = source
		}
	}
	return nil
}

// Len is the number of objects in the stream, set aside or not.
func (s *Stream) Len() int { return len(s.Objects) + len(s.aside) }

// SetAside is the number of documents set aside.
func (s *Stream) SetAside() int { return len(s.aside) }

// TakeBack parses the documents set aside and puts their objects among
// s.Objects where they stood in the input: the stream is then as if
// nothing had been set aside.
func (s *Stream) TakeBack() error {
	if len(s.aside) == 0 {
		return nil
	}
	decoded := make([]decoded, len(s.aside))
	parallel.Each(len(s.aside), func(j int) {
		decoded[j] = parseDocument(s.seed, s.aside[j].text)
	})
	live := s.Objects
	s.Objects = make(fn.KubeObjects, 0, len(live)+len(s.aside))
	for j, d := range decoded {
		a := s.aside[j]
		for len(live) > 0 && s.read[live[0]].index < a.index {
			s.Objects, live = append(s.Objects, live[0]), live[1:]
		}
		if err := s.add(d, a.index, a.text); err != nil {
			return err
		}
	}
	s.Objects = append(s.Objects, live...)
	s.aside = nil
	return nil
}

// verbatimSafe tells whether a document's text can stand for its object in
// the output: not when it holds a directive or an end-of-document marker
// (the text would carry them into the middle of the output stream), nor a
// byte order mark.
func verbatimSafe(doc string) bool {
	doc = "\n" + doc
	return !strings.Contains(doc, "\n%") && !strings.Contains(doc, "\n...") && !strings.ContainsRune(doc, '\uFEFF')
}

// sourceText is a document's text as Write passes it on: without the line
// break that ended its separator line, and ending in one.
func sourceText(doc string) string {
	doc = strings.TrimPrefix(doc, "\n")
	if !strings.HasSuffix(doc, "\n") {
		doc += "\n"
	}
	return doc
}

// fingerprint hashes everything of a YAML tree that the encoder writes:
// kinds, styles, tags, values, anchors, comments, in order (an alias by
// its name: its anchor is hashed where it stands). Equal
// fingerprints before and after processing mean the object was not changed
// (the seed is random per process, so no input can aim at a collision).
// It is never 0, which stands for "no fingerprint".
func fingerprint(seed maphash.Seed, n *yaml.Node) uint64 {
	return maphash.Bytes(seed, appendNode(make([]byte, 0, 2048), n)) | 1
}

// appendNode serializes what fingerprint hashes: one buffer hashed once is
// several times faster than many small writes to a hash.
func appendNode(b []byte, n *yaml.Node) []byte {
	b = append(b, byte(n.Kind), byte(n.Style))
	for _, s := range [...]string{n.Tag, n.Value, n.Anchor, n.HeadComment, n.LineComment, n.FootComment} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(n.Content)))
	for _, c := range n.Content {
		b = appendNode(b, c)
	}
	return b
}

// decode reads one document (its text holds no separator) as kyaml's
// ByteReader reads it, with the same errors, without its per-call costs (it
// splits again and compiles a regular expression on every call).
func decode(doc string) ([]*yaml.RNode, error) {
	var node yaml.Node
	switch err := yaml.NewDecoder(strings.NewReader(doc)).Decode(&node); {
	case err == io.EOF:
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("MalformedYAMLError: %w", err)
	}
	if yaml.IsYNodeEmptyDoc(&node) {
		return nil, nil
	}
	rn := yaml.NewRNode(&node)
	if yaml.IsMissingOrNull(rn) {
		return nil, nil
	}
	// ByteReader also reads the object's metadata (RNode.GetMeta), whose
	// one error, missing metadata, it ignores: it refuses nothing more, and
	// costs a tenth of the decoding.
	return []*yaml.RNode{rn}, nil
}

// split cuts a stream into its documents at separator lines, as kyaml's
// ByteReader does (which refuses a separator followed by anything but a
// comment), less the empty text before a leading separator.
func split(s string) ([]string, error) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	var docs []string
	prev := 0
	// Each line that starts with "---" (a scan by hand: a regular
	// expression over the whole stream cost more than the rest of split).
	for start := 0; start < len(s); {
		end := strings.IndexByte(s[start:], '\n')
		if end < 0 {
			end = len(s)
		} else {
			end += start
		}
		if line := s[start:end]; strings.HasPrefix(line, "---") {
			if !validSeparator(line) {
				return nil, fmt.Errorf("invalid document separator: %s", strings.TrimSpace(line))
			}
			if start > 0 {
				docs = append(docs, s[prev:start])
			}
			prev = end
		}
		start = end + 1
	}
	return append(docs, s[prev:]), nil
}

// validSeparator tells whether a line that starts with "---" is a document
// separator kyaml accepts: nothing after the dashes but blanks or a comment.
func validSeparator(line string) bool {
	rest := strings.TrimSpace(line[3:])
	return rest == "" || rest[0] == '#'
}

// recoverInto turns a panic of kyaml or the SDK on hostile YAML (aliases
// where a string belongs) into an error: on a worker goroutine no caller's
// recover can catch it.
func recoverInto(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("malformed input (YAML aliases in apiVersion, kind or metadata are not supported): %v", p)
	}
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
func Write(w io.Writer, objs fn.KubeObjects) error {
	return (*Stream)(nil).Write(w, objs)
}

// Write is the package's Write, except that an object read from s and not
// changed since is written as the text it was read from, byte for byte.
//
// Why not kio.ByteWriter: it copies every node, then runs one encoder over
// the whole stream, and the encoder's event buffer grows with everything
// written so far: 4 s and 1 GB for 10k objects (BenchmarkStream). An
// encoder per document writes the same bytes; the documents are encoded on
// every CPU, then written in order.
func (s *Stream) Write(w io.Writer, objs fn.KubeObjects) error {
	encoded := make([][]byte, len(objs))
	errs := make([]error, len(objs))
	from := make([]int, len(objs)) // each object's document in the input, or -1
	parallel.Each(len(objs), func(i int) {
		defer recoverInto(&errs[i])
		obj := objs[i]
		objs[i] = nil
		from[i] = -1
		node := obj.MoveToResourceNode().YNode()
		if s != nil {
			doc, ok := s.read[obj]
			if ok {
				from[i] = doc.index
			}
			if ok && doc.fingerprint != 0 && fingerprint(s.seed, node) == doc.fingerprint {
				encoded[i] = []byte(doc.text)
				return
			}
		}
		var buf bytes.Buffer
		enc := yaml.NewEncoderWithOptions(&buf, &yaml.EncoderOptions{SeqIndent: yaml.CompactSequenceStyle})
		if errs[i] = enc.Encode(node); errs[i] == nil {
			errs[i] = enc.Close()
		}
		encoded[i] = buf.Bytes()
	})
	for i := range encoded {
		if errs[i] != nil {
			return errs[i]
		}
	}
	var aside []asideDocument
	if s != nil {
		aside = s.aside
	}
	out := documentWriter{w: w}
	for i, doc := range encoded {
		// The documents set aside that came before this object; before an
		// object that was not in the input (generated), all of them.
		for len(aside) > 0 && (from[i] < 0 || aside[0].index < from[i]) {
			out.writeText(sourceText(aside[0].text))
			aside = aside[1:]
		}
		out.write(doc)
	}
	for _, a := range aside {
		out.writeText(sourceText(a.text))
	}
	return out.err
}

// documentWriter writes documents with a separator between them, keeping
// the first error.
type documentWriter struct {
	w       io.Writer
	started bool
	err     error
}

func (d *documentWriter) write(doc []byte) {
	if d.separate() {
		_, d.err = d.w.Write(doc)
	}
}

// writeText is write for a document held as a string, without a copy.
func (d *documentWriter) writeText(doc string) {
	if d.separate() {
		_, d.err = io.WriteString(d.w, doc)
	}
}

// separate writes the separator a document after the first needs, and
// tells whether to go on.
func (d *documentWriter) separate() bool {
	if d.err != nil {
		return false
	}
	if d.started {
		if _, d.err = io.WriteString(d.w, "---\n"); d.err != nil {
			return false
		}
	}
	d.started = true
	return true
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
