package reconcile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"

	kerrors "sigs.k8s.io/kustomize/kyaml/errors"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/reconcile/discovery"
)

// The reader streams: a plan of 10,000 roles is ≈ 52 MB of YAML, and
// decoded whole it is a node tree of several hundred MB before the first
// role is kept. So a stream is read one document at a time, and a
// ResourceList or List document (one document holding every object, as
// kpt and iambind-fn write it) one item at a time; only the roles,
// ServiceAccount references, discovery plans and workload references stay.
//
// What is read is exactly what kyaml's kio.ByteReader (DisableUnwrapping,
// OmitReaderAnnotations) read before, errors included:
//   - documents are split on the same separator lines, after the same
//     CRLF → LF; a bad separator line is the error, whatever else is wrong;
//   - each document's first YAML document is decoded; a YAML error or a
//     metadata error of any document comes before any plan error;
//   - a list's items are split on the lines that start them (see splitList)
//     only when the layout makes that split certain, and each item is
//     decoded on its own with its line numbers shifted back; when an item
//     does not decode alone (an alias to another item, a split inside a
//     quoted or flow value, a YAML error), the document is decoded whole
//     and what the streamed items added is undone, so the whole decode
//     decides.

// streamErr orders the errors of one stream as a whole read would have met
// them: a plan error (semantic) waits until the rest of the stream is known
// to decode, since a YAML error anywhere in the stream comes first.
type streamErr struct {
	err      error
	decoding bool // a YAML or metadata error: no later plan error replaces it
}

func (e *streamErr) set(err error, decoding bool) {
	if e.err == nil || decoding && !e.decoding {
		e.err, e.decoding = err, decoding
	}
}

// addDocuments reads a multi-document YAML (or JSON) stream held in memory
// (the from-cluster reader's small documents).
func (in *Input) addDocuments(file string, data []byte, byName map[string]*DesiredRole) error {
	return in.readStream(file, bytes.NewReader(data), nil, byName)
}

// readStream reads a multi-document YAML (or JSON) stream. A ResourceList
// or List document contributes its items. readErr wraps an error of r
// (nil: returned as it is).
func (in *Input) readStream(file string, r io.Reader, readErr func(error) error, byName map[string]*DesiredRole) error {
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		doc     []byte // the current document's lines
		index   int    // its index among the documents, as kio.ByteReader counts them
		first   = true // the next line is the stream's first (no newline before it)
		prevSep bool   // the previous line was a separator (its newline is spent)
		failed  streamErr
	)
	flush := func() {
		if failed.err == nil {
			if err, decoding := in.addDocument(file, doc, index, byName, true); err != nil {
				failed.set(err, decoding)
			}
		} else if !failed.decoding {
			// Only a decoding error of this document can still change the answer.
			if err, decoding := in.addDocument(file, doc, index, byName, false); decoding {
				failed.set(err, true)
			}
		}
		doc = doc[:0]
		index++
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			// A line longer than the buffer (a one-line JSON document): gather it.
			long := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err != nil && err != io.EOF {
			if readErr != nil {
				return readErr(err)
			}
			return err
		}
		if n := len(line); n >= 2 && line[n-2] == '\r' && line[n-1] == '\n' {
			line[n-2], line = '\n', line[:n-1] // kio.ByteReader reads "\r\n" as "\n"
		}
		terminated := len(line) > 0 && line[len(line)-1] == '\n'
		// kio.ByteReader splits on the regexp `\n---.*\n`: a line starting
		// with --- after a newline no earlier separator consumed.
		if terminated && !first && !prevSep && bytes.HasPrefix(line, []byte("---")) {
			if rest := strings.TrimSpace(string(line[3:])); rest != "" && rest[0] != '#' {
				return fmt.Errorf("%s: %w", file, kerrors.Errorf("invalid document separator: %s", strings.TrimSpace(string(line))))
			}
			flush()
			prevSep = true
		} else {
			doc = append(doc, line...)
			prevSep = false
		}
		first = false
		if err == io.EOF {
			break
		}
	}
	flush()
	return failed.err
}

// decodeDocument decodes a document's first YAML document as kio.ByteReader
// did; nil (no error) for an empty or null document.
func decodeDocument(file string, doc []byte, index int) (*yaml.RNode, error) {
	node := &yaml.Node{}
	if err := yaml.NewDecoder(bytes.NewReader(doc)).Decode(node); err != nil {
		if err == io.EOF {
			return nil, nil
		}
		return nil, fmt.Errorf("%s: %w", file, kerrors.WrapPrefixf(err, "MalformedYAMLError"))
	}
	if yaml.IsYNodeEmptyDoc(node) {
		return nil, nil
	}
	n := yaml.NewRNode(node)
	if yaml.IsMissingOrNull(n) {
		return nil, nil
	}
	if err := checkMeta(file, n, index); err != nil {
		return nil, err
	}
	return n, nil
}

// checkMeta is kio.ByteReader's metadata check of a document.
func checkMeta(file string, n *yaml.RNode, index int) error {
	if _, err := n.GetMeta(); err != yaml.ErrMissingMetadata && err != nil {
		return fmt.Errorf("%s: %w", file, kerrors.WrapPrefixf(err, "[%d]", index))
	}
	return nil
}

// addDocument adds one document of a stream (only decodes it, without
// keep). decoding reports whether err is a YAML or metadata error (see
// streamErr).
func (in *Input) addDocument(file string, doc []byte, index int, byName map[string]*DesiredRole, keep bool) (err error, decoding bool) {
	if l := splitList(doc); l != nil {
		mark := in.mark()
		err, decoding, ok := in.addList(file, l, index, byName, keep)
		if ok {
			return err, decoding
		}
		in.undo(mark, byName) // the whole decode decides
	}
	n, err := decodeDocument(file, doc, index)
	if err != nil {
		return err, true
	}
	if n == nil || !keep {
		return nil, false
	}
	return in.addNodeSafely(file, n, byName), false
}

// addList adds a list document item by item; ok is false when an item does
// not decode alone or the header is not a ResourceList or List, and the
// document must be decoded whole.
func (in *Input) addList(file string, l *listDoc, index int, byName map[string]*DesiredRole, keep bool) (err error, decoding, ok bool) {
	header := &yaml.Node{}
	if yaml.NewDecoder(bytes.NewReader(l.header)).Decode(header) != nil {
		return nil, false, false
	}
	h := header
	if h.Kind == yaml.DocumentNode && len(h.Content) == 1 {
		h = h.Content[0]
	}
	if h.Kind != yaml.MappingNode {
		return nil, false, false
	}
	if kind := scalar(mapValue(h, "kind")); kind != kio.ResourceListKind && kind != "List" {
		return nil, false, false
	}
	if items := mapValue(h, "items"); items == nil || items.Kind != yaml.ScalarNode || items.Tag != "!!null" {
		return nil, false, false
	}
	var failed streamErr
	failed.set(checkMeta(file, yaml.NewRNode(header), index), true)
	for _, c := range l.items {
		items, decoded := decodeItems(l.doc[c.start:c.end], c.line-1)
		if !decoded {
			return nil, false, false
		}
		if failed.err != nil || !keep {
			continue // only a YAML error in a later item can change the answer
		}
		for _, item := range items {
			if err := in.addItemSafely(file, item, h.Line, byName); err != nil {
				failed.set(err, false)
				break
			}
		}
	}
	return failed.err, failed.decoding, true
}

// addItemSafely adds one item of a list, a panic named as addNodeSafely
// names it for a list decoded whole: by the list's line.
func (in *Input) addItemSafely(file string, item *yaml.Node, listLine int, byName map[string]*DesiredRole) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = malformedObject(file, listLine)
		}
	}()
	return in.addNode(file, yaml.NewRNode(item), byName)
}

// decodeItems decodes one item's text (a block sequence of one entry, as
// splitList cut it) and shifts its line numbers by offset; decoded is false
// when the text does not decode alone into a sequence.
func decodeItems(text []byte, offset int) (items []*yaml.Node, decoded bool) {
	node := &yaml.Node{}
	dec := yaml.NewDecoder(bytes.NewReader(text))
	if err := dec.Decode(node); err != nil {
		return nil, false
	}
	if node.Kind != yaml.DocumentNode || len(node.Content) != 1 || node.Content[0].Kind != yaml.SequenceNode {
		return nil, false
	}
	// Whole, the item would sit two levels deeper (under the list's
	// mapping): so deep a document may not decode whole, let that decide.
	if !shiftLines(node, offset, 0) {
		return nil, false
	}
	return node.Content[0].Content, true
}

// maxItemDepth is far below go-yaml's limit of 10,000 nested collections.
const maxItemDepth = 5000

func shiftLines(n *yaml.Node, offset, depth int) bool {
	if depth > maxItemDepth {
		return false
	}
	n.Line += offset
	for _, c := range n.Content {
		if !shiftLines(c, offset, depth+1) {
			return false
		}
	}
	return true
}

// inputMark is what Input held before a list was streamed, to undo it.
type inputMark struct {
	roles, sas, workloads int
	discovery             []*discovery.Desired
}

func (in *Input) mark() inputMark {
	return inputMark{len(in.Roles), len(in.ServiceAccounts), len(in.Workloads), slices.Clone(in.Discovery)}
}

func (in *Input) undo(m inputMark, byName map[string]*DesiredRole) {
	for _, r := range in.Roles[m.roles:] {
		delete(byName, roleKey(r))
	}
	clear(in.Roles[m.roles:])
	in.Roles = in.Roles[:m.roles]
	in.ServiceAccounts = in.ServiceAccounts[:m.sas]
	in.Workloads = in.Workloads[:m.workloads]
	in.Discovery = m.discovery
}

// listDoc is a list document cut into its header (the document with its
// items region blanked: every top-level field, items: null, the same line
// numbers) and the text of each item.
type listDoc struct {
	doc    []byte
	header []byte
	items  []itemText
}

type itemText struct {
	start, end int // byte range in doc
	line       int // the line of start in doc, from 1
}

// splitList cuts a document whose top-level field `items:` is a block
// sequence on the lines below it, or returns nil when the layout leaves any
// doubt (a document marker or directive, a tab at the start of a line, a
// top-level sequence, items given inline or twice, a line of the items less
// indented than their dashes). An item is every line from one that starts
// an entry at the items' indentation ("- " or "-") to the next such line;
// a wrong cut (inside a quoted or flow value) does not decode alone and
// sends the document to the whole decode.
func splitList(doc []byte) *listDoc {
	const (
		before = iota
		inItems
		after
	)
	if bytes.HasPrefix(doc, []byte{0xff, 0xfe}) || bytes.HasPrefix(doc, []byte{0xfe, 0xff}) {
		return nil // UTF-16: lines are not bytes ending in '\n'
	}
	// go-yaml also breaks lines at CR, NEL, LS and PS: its lines would not
	// be these lines.
	for _, brk := range []string{"\r", "\u0085", "\u2028", "\u2029"} {
		if bytes.Contains(doc, []byte(brk)) {
			return nil
		}
	}
	l := &listDoc{doc: doc}
	state, indent := before, -1
	regionStart, regionEnd := -1, len(doc)
	lineNo := 0
	for pos := 0; pos < len(doc); {
		end := bytes.IndexByte(doc[pos:], '\n')
		if end < 0 {
			end = len(doc)
		} else {
			end += pos + 1
		}
		line := doc[pos:end]
		lineNo++
		text := bytes.TrimSuffix(line, []byte("\n"))
		switch {
		case len(text) == 0:
		case text[0] == '%', bytes.HasPrefix(text, []byte("---")), bytes.HasPrefix(text, []byte("...")), text[0] == '\t':
			return nil
		}
		trimmed := bytes.TrimLeft(text, " ")
		if len(trimmed) > 0 && trimmed[0] == '\t' {
			return nil
		}
		if len(trimmed) == 0 || trimmed[0] == '#' {
			pos = end
			continue
		}
		col := len(text) - len(trimmed)
		entry := isEntry(trimmed)
		switch state {
		case before:
			// Other top-level fields (a results list too) are the header's,
			// and its decode judges them.
			if col == 0 && isItemsKey(text) {
				state, regionStart = inItems, end
			}
		case inItems:
			switch {
			case indent < 0:
				if !entry {
					return nil // items: is null, a mapping or a scalar: small, decode whole
				}
				indent = col
				l.items = append(l.items, itemText{start: pos, line: lineNo})
			case col == indent && entry:
				l.items[len(l.items)-1].end = pos
				l.items = append(l.items, itemText{start: pos, line: lineNo})
			case col == 0:
				if entry || isItemsKey(text) {
					return nil
				}
				state, regionEnd = after, pos
			case col <= indent:
				return nil // neither an entry nor inside one
			}
		case after:
			if col == 0 && isItemsKey(text) {
				return nil
			}
		}
		pos = end
	}
	if len(l.items) == 0 {
		return nil
	}
	l.items[len(l.items)-1].end = regionEnd
	// The header keeps every line outside the items, and an empty line for
	// each line of them, so that its line numbers are the document's.
	region := doc[regionStart:regionEnd]
	header := make([]byte, 0, len(doc)-len(region)+bytes.Count(region, []byte("\n"))+1)
	header = append(header, doc[:regionStart]...)
	for range bytes.Count(region, []byte("\n")) {
		header = append(header, '\n')
	}
	l.header = append(header, doc[regionEnd:]...)
	return l
}

// isEntry: a block sequence entry starts the line ("- " or a lone "-").
func isEntry(trimmed []byte) bool {
	return len(trimmed) == 1 && trimmed[0] == '-' || bytes.HasPrefix(trimmed, []byte("- "))
}

// isItemsKey: the line is `items:` with nothing after it but a comment.
func isItemsKey(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte("items:"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#'
}

// roleKey is the duplicate key of a planned role: role names are unique per
// account (case-insensitively), not across accounts.
func roleKey(r *DesiredRole) string {
	_, account, _ := arnAccount(r.ARN)
	return account + "/" + strings.ToLower(r.Name)
}
