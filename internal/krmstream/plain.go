package krmstream

import "strings"

// plainObject recognizes a document written in the plain block style that
// kyaml (and so kustomize and most YAML tools) writes, and reads its
// apiVersion and kind without a parse: a stream's documents are mostly
// objects nobody changes, and parsing them is most of the function's time
// after a producer's last write.
//
// It is a recognizer, not a parser: it accepts a narrow subset of YAML and
// says no to everything else, and a "no" costs only speed (the document is
// parsed as always). The subset, line by line:
//
//   - block mappings whose keys are plain words ([A-Za-z0-9_][A-Za-z0-9._/-]*),
//     block sequences ("- " items, indented or not under their key), and
//     sequence items that open a mapping ("- key: value");
//   - values on the key's line: a plain scalar that starts with no YAML
//     indicator and holds no '#', ": ", brackets, braces or backslash; a
//     one-line single- or double-quoted scalar without escapes; a one-line
//     flow sequence or mapping of such scalars (flowValue), {} or []; or a
//     literal block ("|", "|-", "|+") whose lines are indented deeper than
//     its key;
//   - comment lines and empty lines anywhere outside a literal block; no
//     comment after a value;
//   - printable ASCII only; no tabs, anchors, aliases, tags, directives,
//     nested or multi-line flow collections.
//
// What it promises where it says ok (FuzzPlainObject holds it to this):
// yaml.v3 parses the document without error to one mapping whose top-level
// apiVersion and kind are the scalars returned, both non-empty. It also
// refuses what would make the object change when the function only passes
// it through: duplicate keys at the top level or in metadata, metadata that
// is not a mapping, and annotations that are not a mapping with an entry
// (the SDK drops an empty one).
func plainObject(doc string) (apiVersion, kind string, ok bool) {
	p := plainState{pending: -1}
	for len(doc) > 0 {
		line := doc
		if i := strings.IndexByte(doc, '\n'); i >= 0 {
			line, doc = doc[:i], doc[i+1:]
		} else {
			doc = ""
		}
		if !p.line(line) {
			return "", "", false
		}
	}
	if p.pending >= 0 || p.depth == 0 || p.apiVersion == "" || p.kind == "" {
		return "", "", false
	}
	return p.apiVersion, p.kind, true
}

// maxDepth bounds the nesting the recognizer follows; deeper documents are parsed.
const maxDepth = 64

// A container is an open block mapping or sequence: the column of its keys
// or dashes, and what it is.
type container struct {
	indent int
	seq    bool
	role   role
}

// role marks the two mappings whose content the recognizer checks.
type role uint8

const (
	roleOther role = iota
	roleTop
	roleMetadata
)

type plainState struct {
	stack [maxDepth]container
	depth int
	// pending is the column of the mapping whose last key ("key:") takes
	// the lines that follow as its value, or -1.
	pending     int
	pendingRole role // what the pending value is: metadata, annotations (roleMetadata+1), or other
	// A literal block in progress: the column of its key's mapping, and its
	// lines' indentation once known (0 until the first line).
	inBlock     bool
	blockParent int
	blockIndent int

	apiVersion, kind string
	topKeys          []string // keys seen in the top-level mapping
	metaKeys         []string // keys seen in metadata
}

// pendingAnnotations marks a pending value that is metadata.annotations.
const pendingAnnotations = roleMetadata + 1

func (p *plainState) line(line string) bool {
	if p.inBlock {
		if line == "" {
			return true
		}
		n := indentOf(line)
		if p.blockIndent == 0 {
			if n <= p.blockParent || n == len(line) {
				return false // an empty block, or leading blank lines: parsed
			}
			p.blockIndent = n
		}
		if n >= p.blockIndent {
			return printable(line[n:])
		}
		p.inBlock = false // a line less indented ends the block
	}
	if line == "" {
		return true
	}
	n := indentOf(line)
	rest := line[n:]
	if rest == "" {
		return false // a line of blanks outside a literal block: parsed
	}
	if rest[0] == '#' {
		return printable(rest) // a comment line (Helm starts each document with one)
	}
	seq := rest[0] == '-' && (len(rest) == 1 || rest[1] == ' ')
	if seq && (len(rest) < 3 || rest[2] == ' ') {
		return false // "-" alone, "-  x": parsed
	}
	if !p.place(n, seq) {
		return false
	}
	if seq {
		rest, n = rest[2:], n+2
		if _, _, isEntry := splitEntry(rest); !isEntry {
			_, ok := scalarValue(rest)
			return ok
		}
		// "- key: value" opens a mapping at the key's column.
		if !p.push(container{indent: n}) {
			return false
		}
	}
	return p.entry(n, rest)
}

// place finds the container a line at column n belongs to, opening the
// value of a pending key.
func (p *plainState) place(n int, seq bool) bool {
	if p.pending >= 0 {
		parent, r := p.pending, p.pendingRole
		p.pending = -1
		switch {
		case seq && n >= parent && r == roleOther:
			return p.push(container{indent: n, seq: true})
		case !seq && n > parent:
			if r == pendingAnnotations {
				r = roleOther // a mapping with an entry: what annotations must be
			}
			return p.push(container{indent: n, role: r})
		}
		return false // a null value, or metadata / annotations not a mapping: parsed
	}
	if p.depth == 0 {
		if n != 0 || seq {
			return false
		}
		return p.push(container{indent: 0, role: roleTop})
	}
	for p.depth > 0 {
		top := p.stack[p.depth-1]
		if top.indent > n || (top.indent == n && top.seq && !seq) {
			p.depth--
			continue
		}
		return top.indent == n && top.seq == seq
	}
	return false // below the top-level mapping: a second document root
}

func (p *plainState) push(c container) bool {
	if p.depth == maxDepth {
		return false
	}
	p.stack[p.depth] = c
	p.depth++
	return true
}

// entry reads "key:", "key: value" or "key: |" in the mapping at column n
// (the container on top of the stack).
func (p *plainState) entry(n int, rest string) bool {
	key, value, ok := splitEntry(rest)
	if !ok {
		return false
	}
	r := p.stack[p.depth-1].role
	switch r {
	case roleTop:
		if contains(p.topKeys, key) {
			return false
		}
		p.topKeys = append(p.topKeys, key)
	case roleMetadata:
		if contains(p.metaKeys, key) {
			return false
		}
		p.metaKeys = append(p.metaKeys, key)
	}
	switch value {
	case "":
		p.pending, p.pendingRole = n, roleOther
		switch {
		case r == roleTop && (key == "apiVersion" || key == "kind"):
			return false
		case r == roleTop && key == "metadata":
			p.pendingRole = roleMetadata
		case r == roleMetadata && key == "annotations":
			p.pendingRole = pendingAnnotations
		}
		return true
	case "|", "|-", "|+":
		if r == roleTop && (key == "apiVersion" || key == "kind" || key == "metadata") || r == roleMetadata && key == "annotations" {
			return false
		}
		p.inBlock, p.blockParent, p.blockIndent = true, n, 0
		return true
	}
	s, ok := scalarValue(value)
	if !ok {
		return false
	}
	switch {
	case r == roleTop && key == "metadata", r == roleMetadata && key == "annotations":
		return false // a scalar or {} where a mapping belongs: parsed
	case r == roleTop && (key == "apiVersion" || key == "kind"):
		if s == "" || value == "{}" || value == "[]" {
			return false
		}
		if key == "kind" {
			p.kind = s
		} else {
			p.apiVersion = s
		}
	}
	return true
}

// splitEntry splits "key:" or "key: value" with a plain-word key.
func splitEntry(s string) (key, value string, ok bool) {
	i := 0
	for i < len(s) && i <= maxKey && keyByte[s[i]] {
		i++
	}
	if i == 0 || i > maxKey || i == len(s) || s[i] != ':' || !keyStart[s[0]] {
		return "", "", false
	}
	key, s = s[:i], s[i+1:]
	if s == "" {
		return key, "", true
	}
	if s[0] != ' ' || len(s) == 1 || s[1] == ' ' {
		return "", "", false
	}
	return key, s[1:], true
}

// maxKey is the longest key accepted: YAML parsers give up on implicit
// keys past 1,024 characters.
const maxKey = 256

// scalarValue checks a one-line value and returns the string it stands for.
func scalarValue(v string) (string, bool) {
	switch {
	case v == "{}" || v == "[]":
		return "", true
	case v[0] == '[' || v[0] == '{':
		return "", flowValue(v)
	case v[0] == '"' || v[0] == '\'':
		inner, rest, ok := quoted(v)
		return inner, ok && rest == ""
	case !plainStart[v[0]] && (v[0] != '-' || len(v) == 1 || v[1] == ' '):
		return "", false
	}
	for i := 0; i < len(v); i++ {
		if !plainByte[v[i]] {
			return "", false
		}
	}
	if v[len(v)-1] == ':' || v[len(v)-1] == ' ' || strings.Contains(v, ": ") {
		return "", false
	}
	return v, true
}

// quoted reads the single- or double-quoted scalar v starts with, which
// must hold no escape, no quote of its kind and only printable ASCII, and
// returns its content and what follows it.
func quoted(v string) (inner, rest string, ok bool) {
	q := v[0]
	end := strings.IndexByte(v[1:], q)
	if end < 0 {
		return "", "", false
	}
	inner, rest = v[1:1+end], v[2+end:]
	if strings.IndexByte(inner, '\\') >= 0 || !printable(inner) {
		return "", "", false
	}
	return inner, rest, true
}

// flowValue checks a one-line flow sequence or mapping of scalars, as
// `helm template` output often holds: "[a, "b:c"]", "{app: web, tier: x}".
// Items are quoted (as above) or plain words without ':', ',', '?', spaces,
// quotes or brackets; mapping keys are plain words; ", " separates them.
func flowValue(v string) bool {
	isMap := v[0] == '{'
	closer := byte(']')
	if isMap {
		closer = '}'
	}
	if v[len(v)-1] != closer {
		return false
	}
	s := v[1 : len(v)-1]
	for {
		if isMap {
			key, value, ok := splitEntry(s)
			if !ok || value == "" {
				return false
			}
			_, s = key, value
		}
		var ok bool
		if s, ok = flowItem(s); !ok {
			return false
		}
		if s == "" {
			return true
		}
		if !strings.HasPrefix(s, ", ") {
			return false
		}
		s = s[2:]
	}
}

// flowItem reads one scalar of a flow collection and returns what follows.
func flowItem(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	if s[0] == '"' || s[0] == '\'' {
		_, rest, ok := quoted(s)
		return rest, ok
	}
	if !plainStart[s[0]] && (s[0] != '-' || len(s) == 1 || !flowPlainByte[s[1]]) {
		return "", false
	}
	i := 0
	for i < len(s) && flowPlainByte[s[i]] {
		i++
	}
	if i == 0 || i < len(s) && s[i] != ',' {
		return "", false
	}
	return s[i:], true
}

func indentOf(line string) int {
	n := 0
	for n < len(line) && line[n] == ' ' {
		n++
	}
	return n
}

// printable tells whether s is printable ASCII (space to tilde).
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// Byte classes of the subset.
var keyStart, keyByte, plainStart, plainByte, flowPlainByte [256]bool

func init() {
	for c := 0x20; c <= 0x7e; c++ {
		b := byte(c)
		alnum := 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9'
		keyStart[c] = alnum || b == '_'
		keyByte[c] = keyStart[c] || strings.IndexByte("./-", b) >= 0
		plainByte[c] = strings.IndexByte("#\\[]{}", b) < 0
		plainStart[c] = plainByte[c] && strings.IndexByte(" -?:,&*!|>'\"%@`", b) < 0
		// In a flow collection yaml.v3 also ends a plain scalar at '?'.
		flowPlainByte[c] = plainByte[c] && strings.IndexByte(" :,?'\"", b) < 0
	}
}
