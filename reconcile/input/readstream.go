package input

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	kerrors "sigs.k8s.io/kustomize/kyaml/errors"
	"sigs.k8s.io/kustomize/kyaml/kio"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/yamlnode"
)

// The reader streams: a plan of 10,000 roles is ≈ 52 MB of YAML, and
// decoded whole it is a node tree of several hundred MB before the first
// role is kept. So a stream is read one document at a time, and a
// ResourceList or List document (one document holding every object, as
// kpt and iambind-fn write it) one item at a time as its lines arrive;
// only the roles, ServiceAccount references, discovery plans and workload
// references stay.
//
// What is read is exactly what kyaml's kio.ByteReader (DisableUnwrapping,
// OmitReaderAnnotations) read before, errors included:
//   - documents are split on the same separator lines, after the same
//     CRLF → LF; a bad separator line is the error, whatever else is wrong;
//   - each document's first YAML document is decoded; a YAML error or a
//     metadata error of any document comes before any plan error;
//   - a list's items are cut at the lines that start them (see listScan)
//     only while the layout makes that cut certain, and each item is
//     decoded alone with its line numbers shifted back. When the layout
//     turns out otherwise, an item does not decode alone (an alias to
//     another item, a cut inside a quoted or flow value, a YAML error) or
//     the document is not a list after all, what the items added is undone
//     and the document is decoded whole, which decides.
//
// A document decoded whole is read again from the input when the input can
// (a file: io.ReaderAt); otherwise (stdin) its text is kept while it is
// read, in a temporary file past 1 MiB.

// streamErr orders the errors of one stream as a whole read would have met
// them: a plan error (semantic) waits until the rest of the stream is known
// to decode, since a YAML error anywhere in the stream comes first.
type streamErr struct {
	err      error
	decoding bool // a YAML or metadata error: no later plan error replaces it
}

func (e *streamErr) set(err error, decoding bool) {
	if err != nil && (e.err == nil || decoding && !e.decoding) {
		e.err, e.decoding = err, decoding
	}
}

// ReadDocuments reads a multi-document YAML (or JSON) stream held in
// memory, e.g. the objects listed from a cluster; file names it in errors.
func ReadDocuments(file string, data []byte) (*Input, error) {
	in := &Input{}
	if err := in.addDocuments(file, data, map[string]*DesiredRole{}); err != nil {
		return nil, err
	}
	return in, nil
}

// addDocuments reads a multi-document YAML (or JSON) stream held in memory
// (the from-cluster reader's small documents).
func (in *Input) addDocuments(file string, data []byte, byName map[string]*DesiredRole) error {
	return in.readStream(file, bytes.NewReader(data), nil, byName)
}

// defaultKeepText is how much of a document's text is kept for its whole
// decode when the input can be read again: small documents (a kustomize
// stream) are not read twice. Input.keepText overrides it (tests).
const defaultKeepText = 1 << 20

// readStream reads a multi-document YAML (or JSON) stream. A ResourceList
// or List document contributes its items. readErr wraps an error of r
// (nil: returned as it is).
func (in *Input) readStream(file string, r io.Reader, readErr func(error) error, byName map[string]*DesiredRole) error {
	wrap := func(err error) error {
		if readErr != nil {
			return readErr(err)
		}
		return err
	}
	ra, _ := r.(io.ReaderAt)
	br := bufio.NewReaderSize(r, 256<<10)
	var (
		offset  int64  // bytes of r consumed
		first   = true // the next line is the stream's first (no newline before it)
		prevSep bool   // the previous line was a separator (its newline is spent)
		failed  streamErr
	)
	keep := in.keepText
	if keep == 0 {
		keep = defaultKeepText
	}
	d := &docRead{in: in, file: file, byName: byName, reread: ra != nil, keepText: keep}
	defer d.dropSpool()
	startDoc := func() {
		keep := failed.err == nil
		if !keep && failed.decoding {
			d.reset(offset, false, false) // nothing of this document can change the answer
			return
		}
		d.reset(offset, keep, true)
	}
	endDoc := func() error {
		if !d.active {
			return nil
		}
		err, decoding, rerr := d.end(ra, wrap)
		if rerr != nil {
			return rerr
		}
		if d.keep || decoding {
			failed.set(err, decoding)
		}
		return nil
	}
	startDoc()
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
			return wrap(err)
		}
		raw := int64(len(line))
		offset += raw
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
			d.endAt(offset - raw)
			if err := endDoc(); err != nil {
				return err
			}
			d.index++
			startDoc()
			prevSep = true
		} else {
			d.line(line)
			prevSep = false
		}
		first = false
		if err == io.EOF {
			break
		}
	}
	d.endAt(offset)
	if err := endDoc(); err != nil {
		return err
	}
	return failed.err
}

// docRead is the document being read: its text (while kept), and its
// items as they arrive when it is a list (listScan).
type docRead struct {
	keepText int // see defaultKeepText
	in       *Input
	file     string
	byName   map[string]*DesiredRole
	index    int // among the documents, as kio.ByteReader counts them

	active      bool  // false: the document is skipped (an earlier YAML error decides)
	keep        bool  // add what is read (false: only decode, for errors)
	start, stop int64 // byte range of the document in the input
	text        []byte
	textKept    bool // text holds the whole document
	reread      bool // the input can be read again: text is kept only while small
	// spool holds the text of a large document of an input that cannot be
	// read again (stdin), nil while it is small or when no file could be made
	// (the text is then kept in memory); spoolErr is a failed write to it.
	spool    *os.File
	noSpool  bool
	spoolErr error

	list  *listScan // nil once the document is not streamed as a list
	mark  inputMark
	items streamErr
}

func (d *docRead) reset(start int64, keep, active bool) {
	d.dropSpool()
	d.active, d.keep, d.start, d.stop = active, keep, start, start
	d.text, d.textKept = d.text[:0], true
	d.list = &listScan{indent: -1}
	d.mark = d.in.mark()
	d.items = streamErr{}
}

func (d *docRead) endAt(off int64) { d.stop = off }

// startSpool moves the text to a temporary file (0600, removed once the
// document is read); false when none can be made: the text stays in memory.
func (d *docRead) startSpool() bool {
	if d.noSpool {
		return false
	}
	f, err := os.CreateTemp("", "iambind-input-*.yaml")
	if err != nil {
		d.noSpool = true
		return false
	}
	d.spool = f
	_, d.spoolErr = f.Write(d.text)
	return true
}

func (d *docRead) dropSpool() {
	if d.spool != nil {
		d.spool.Close()
		os.Remove(d.spool.Name())
		d.spool, d.spoolErr = nil, nil
	}
}

// line takes the document's next line (ending in '\n' but the last).
func (d *docRead) line(line []byte) {
	if !d.active {
		return
	}
	switch {
	case d.textKept:
		d.text = append(d.text, line...)
		if len(d.text) > d.keepText && (d.reread || d.startSpool()) {
			d.text, d.textKept = d.text[:0], false
		}
	case d.spool != nil && d.spoolErr == nil:
		_, d.spoolErr = d.spool.Write(line)
	}
	if d.list == nil {
		return
	}
	item, ok := d.list.line(line)
	if ok && item != nil {
		ok = d.addItem(item)
	}
	if !ok {
		d.abandonList()
	}
}

// addItem decodes and adds one item's text; false when it does not decode
// alone.
func (d *docRead) addItem(it *itemText) bool {
	items, decoded := decodeItems(it.text, it.line-1)
	if !decoded {
		return false
	}
	if d.items.err != nil || !d.keep {
		return true // only a YAML error in a later item can change the answer
	}
	for _, item := range items {
		if err := d.in.addItemSafely(d.file, item, d.byName); err != nil {
			d.items.set(err, false)
			break
		}
	}
	return true
}

func (d *docRead) abandonList() {
	d.list = nil
	d.in.undo(d.mark, d.byName)
	d.items = streamErr{}
}

// end finishes the document: the list's last item and header, or the whole
// decode. rerr is an error reading the input again.
func (d *docRead) end(ra io.ReaderAt, wrap func(error) error) (err error, decoding bool, rerr error) {
	if l := d.list; l != nil {
		if item, ok := l.finish(); ok && (item == nil || d.addItem(item)) {
			if decoding, ok, err := d.endList(); ok {
				return err, decoding, nil
			}
		}
		d.abandonList()
	}
	text := d.text
	switch {
	case d.textKept:
	case d.spool != nil:
		if d.spoolErr != nil {
			return nil, false, wrap(d.spoolErr)
		}
		var err error
		if text, err = os.ReadFile(d.spool.Name()); err != nil {
			return nil, false, wrap(err)
		}
	default:
		text = make([]byte, d.stop-d.start)
		if _, err := ra.ReadAt(text, d.start); err != nil && err != io.EOF {
			return nil, false, wrap(err)
		}
		text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	}
	n, err := decodeDocument(d.file, text, d.index)
	if err != nil {
		return err, true, nil
	}
	if n == nil || !d.keep {
		return nil, false, nil
	}
	return d.in.addNodeSafely(d.file, n, d.byName), false, nil
}

// endList judges the list's header once the whole document is read; ok is
// false when it is not a ResourceList or List whose items the layout gave.
func (d *docRead) endList() (decoding, ok bool, err error) {
	header := &yaml.Node{}
	if yaml.NewDecoder(bytes.NewReader(d.list.header)).Decode(header) != nil {
		return false, false, nil
	}
	h := header
	if h.Kind == yaml.DocumentNode && len(h.Content) == 1 {
		h = h.Content[0]
	}
	if h.Kind != yaml.MappingNode {
		return false, false, nil
	}
	if kind := scalar(yamlnode.Get(h, "kind")); kind != kio.ResourceListKind && kind != "List" {
		return false, false, nil
	}
	if items := yamlnode.Get(h, "items"); items == nil || items.Kind != yaml.ScalarNode || items.Tag != "!!null" {
		return false, false, nil
	}
	failed := d.items
	if _, bad := failed.err.(malformedItem); bad {
		// Decoded whole, the panic would be named by the list's line.
		failed.err = malformedObject(d.file, h.Line)
	}
	failed.set(checkMeta(d.file, yaml.NewRNode(header), d.index), true)
	return failed.decoding, true, failed.err
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

// malformedItem stands for malformedObject until the list's line is known.
type malformedItem struct{}

func (malformedItem) Error() string { return "malformed Kubernetes object" }

// addItemSafely adds one item of a list, turning a panic into an error as
// addNodeSafely does for a document.
func (in *Input) addItemSafely(file string, item *yaml.Node, byName map[string]*DesiredRole) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = malformedItem{}
		}
	}()
	return in.addNode(file, yaml.NewRNode(item), byName)
}

// decodeItems decodes one item's text (a block sequence of one entry, as
// listScan cut it) and shifts its line numbers by offset; decoded is false
// when the text does not decode alone into a sequence.
func decodeItems(text []byte, offset int) (items []*yaml.Node, decoded bool) {
	node := &yaml.Node{}
	if err := yaml.NewDecoder(bytes.NewReader(text)).Decode(node); err != nil {
		return nil, false
	}
	if node.Kind != yaml.DocumentNode || len(node.Content) != 1 || node.Content[0].Kind != yaml.SequenceNode {
		return nil, false
	}
	if !shiftLines(node, offset, 0) {
		return nil, false
	}
	return node.Content[0].Content, true
}

// maxItemDepth is far below go-yaml's limit of 10,000 nested collections:
// whole, an item sits deeper (under the list's mapping), so an item near
// the limit is left to the whole decode.
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
	discovery             []*DiscoveryPlan
}

func (in *Input) mark() inputMark {
	return inputMark{len(in.Roles), len(in.ServiceAccounts), len(in.Workloads), slices.Clone(in.Discovery)}
}

func (in *Input) undo(m inputMark, byName map[string]*DesiredRole) {
	if len(in.Roles) == m.roles && len(in.ServiceAccounts) == m.sas && len(in.Workloads) == m.workloads && len(in.Discovery) == len(m.discovery) {
		return
	}
	for _, r := range in.Roles[m.roles:] {
		delete(byName, roleKey(r))
	}
	clear(in.Roles[m.roles:])
	in.Roles = in.Roles[:m.roles]
	in.ServiceAccounts = in.ServiceAccounts[:m.sas]
	in.Workloads = in.Workloads[:m.workloads]
	in.Discovery = m.discovery
}

// listScan cuts a document, line by line, into a header (every top-level
// field, `items:` left null; its mapping starts on the document's line) and
// the text of each item of a top-level `items:` block sequence. An item is every line from one that
// starts an entry at the items' indentation ("- " or a lone "-") to the
// next such line. It gives up (ok false) when the layout leaves any doubt:
// a document marker or directive, a tab or another line break than '\n', a
// UTF-16 text, items given inline or twice, a line among the items less
// indented than their dashes. A wrong cut (inside a quoted or flow value)
// does not decode alone and sends the document to the whole decode.
type listScan struct {
	state  int // listBefore, listItems, listAfter
	indent int // the items' dashes' column; -1 before the first
	lineNo int
	header []byte
	item   itemText
	spare  []byte
}

const (
	listBefore = iota
	listItems
	listAfter
)

type itemText struct {
	text []byte
	line int // the document line of its first line, from 1
}

// maxHeader bounds the text of a list kept besides its items.
const maxHeader = 8 << 20

var otherBreaks = [][]byte{[]byte("\r"), []byte("\u0085"), []byte("\u2028"), []byte("\u2029")}

// line takes the next line; item is an item that this line completed.
func (l *listScan) line(line []byte) (item *itemText, ok bool) {
	l.lineNo++
	if l.lineNo == 1 && (bytes.HasPrefix(line, []byte{0xff, 0xfe}) || bytes.HasPrefix(line, []byte{0xfe, 0xff})) {
		return nil, false
	}
	for _, b := range otherBreaks {
		if bytes.Contains(line, b) {
			return nil, false
		}
	}
	text := bytes.TrimSuffix(line, []byte("\n"))
	if l.lineNo == 1 && isBareMarker(text) {
		// The stream's first document may open with "---" (kio.ByteReader
		// does not split there): the header's decode reads it as go-yaml does.
		l.header = append(l.header, line...)
		return nil, true
	}
	if len(text) > 0 && (text[0] == '%' || text[0] == '\t' || bytes.HasPrefix(text, []byte("---")) || bytes.HasPrefix(text, []byte("..."))) {
		return nil, false
	}
	trimmed := bytes.TrimLeft(text, " ")
	if len(trimmed) > 0 && trimmed[0] == '\t' {
		return nil, false
	}
	blank := len(trimmed) == 0 || trimmed[0] == '#'
	col := len(text) - len(trimmed)
	entry := !blank && isEntry(trimmed)
	if l.state == listItems && !blank {
		switch {
		case l.indent < 0:
			if !entry {
				return nil, false // items: is null, a mapping or a scalar: small, decode whole
			}
			l.indent = col
			l.item = itemText{line: l.lineNo}
		case col == l.indent && entry:
			// Two buffers in turn: the one returned is read before the next line.
			done := &itemText{text: l.item.text, line: l.item.line}
			l.item = itemText{text: l.spare[:0], line: l.lineNo}
			l.spare = done.text
			item = done
		case col == 0:
			if entry || isItemsKey(text) {
				return nil, false
			}
			if l.item.text != nil {
				done := l.item
				l.item = itemText{}
				item = &done
			}
			l.state = listAfter
		case col <= l.indent:
			return nil, false // neither an entry nor inside one
		}
	}
	switch l.state {
	case listBefore:
		// Other top-level fields (a results list too) are the header's, and
		// its decode judges them.
		if !blank && col == 0 && isItemsKey(text) {
			l.state = listItems
		}
		l.header = append(l.header, line...)
	case listItems:
		if l.indent >= 0 {
			l.item.text = append(l.item.text, line...)
		}
	case listAfter:
		if !blank && col == 0 && isItemsKey(text) {
			return nil, false
		}
		l.header = append(l.header, line...)
	}
	if len(l.header) > maxHeader {
		return nil, false // not the list this is for: decode it whole
	}
	return item, true
}

// finish returns the last item; ok is false when the document had no items
// to stream.
func (l *listScan) finish() (item *itemText, ok bool) {
	if l.indent < 0 {
		return nil, false
	}
	if l.state == listItems {
		return &itemText{text: l.item.text, line: l.item.line}, true
	}
	return nil, true
}

// isBareMarker: a document start marker with nothing after it but a comment.
func isBareMarker(text []byte) bool {
	rest, ok := bytes.CutPrefix(text, []byte("---"))
	if !ok {
		return false
	}
	rest = bytes.TrimLeft(rest, " ")
	return len(rest) == 0 || rest[0] == '#' && len(rest) < len(text)-3
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
	_, account, _ := ARNAccount(r.ARN)
	return account + "/" + strings.ToLower(r.Name)
}
