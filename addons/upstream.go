package addons

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// The embedded documents in policies/ are extracted from verbatim copies of
// the add-on projects' own files (sources/), pinned to a commit in
// sources.json together with the copy's sha256. `go generate ./addons`
// re-extracts them; with -fetch it first downloads the copies again (see
// internal/addonsgen). A test fails when a copy no longer has its recorded
// hash or an embedded document differs from what its copy yields.

//go:generate go run ./internal/addonsgen -root ..

//go:embed sources.json
var manifestJSON []byte

// Manifest is sources.json: where each embedded document comes from.
type Manifest struct {
	Sources   []Source   `json:"sources"`
	Documents []Document `json:"documents"`
}

// Source is one upstream file, pinned.
type Source struct {
	ID      string `json:"id"`
	Project string `json:"project"`
	Repo    string `json:"repo"`   // GitHub owner/name
	Ref     string `json:"ref"`    // release tag, "" when the project has none
	Commit  string `json:"commit"` // the commit the copy was taken at
	Path    string `json:"path"`   // path in the repository
	Copy    string `json:"copy"`   // the verbatim copy, relative to addons/
	SHA256  string `json:"sha256"` // of the copy, recorded when it was fetched
}

// Document is one embedded policy document: the statements of its
// extracts, in order.
type Document struct {
	File     string    `json:"file"` // under policies/
	Extracts []Extract `json:"extracts"`
}

// Extract locates one JSON policy in a source: the first balanced {...}
// starting a line after the marker text (the whole file when After is empty).
type Extract struct {
	Source string `json:"source"`
	After  string `json:"after,omitempty"`
	// Repair "trailing-commas" drops commas before ] or }: one upstream
	// example is not valid JSON as published.
	Repair string `json:"repair,omitempty"`
}

// LoadManifest decodes the embedded sources.json.
func LoadManifest() (Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(manifestJSON))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("sources.json: %w", err)
	}
	return m, nil
}

// Source returns the source with the given id.
func (m Manifest) Source(id string) (Source, bool) {
	for _, s := range m.Sources {
		if s.ID == id {
			return s, true
		}
	}
	return Source{}, false
}

// SHA256 is the hex sha256 of data, as recorded in sources.json.
func SHA256(data []byte) string {
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

var trailingComma = regexp.MustCompile(`,(\s*[\]}])`)

// BuildDocument extracts a document from source copies (read by the
// caller) and returns it in its embedded form: indented JSON with sorted
// keys, statements in upstream order.
func BuildDocument(d Document, read func(Source) ([]byte, error), m Manifest) ([]byte, error) {
	var statements []any
	version := ""
	for _, x := range d.Extracts {
		src, ok := m.Source(x.Source)
		if !ok {
			return nil, fmt.Errorf("%s: unknown source %q", d.File, x.Source)
		}
		data, err := read(src)
		if err != nil {
			return nil, err
		}
		text, err := extractObject(string(data), x.After)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", d.File, src.Copy, err)
		}
		if x.Repair == "trailing-commas" {
			text = trailingComma.ReplaceAllString(text, "$1")
		} else if x.Repair != "" {
			return nil, fmt.Errorf("%s: unknown repair %q", d.File, x.Repair)
		}
		var doc struct {
			Version   string
			Statement json.RawMessage
		}
		if err := json.Unmarshal([]byte(text), &doc); err != nil {
			return nil, fmt.Errorf("%s: %s: the extracted policy is not JSON: %w", d.File, src.Copy, err)
		}
		if version != "" && doc.Version != version {
			return nil, fmt.Errorf("%s: extracts disagree on Version (%s, %s)", d.File, version, doc.Version)
		}
		version = doc.Version
		var list []any
		if err := json.Unmarshal(doc.Statement, &list); err != nil {
			var one any
			if err := json.Unmarshal(doc.Statement, &one); err != nil {
				return nil, fmt.Errorf("%s: %s: Statement: %w", d.File, src.Copy, err)
			}
			list = []any{one}
		}
		statements = append(statements, list...)
	}
	return marshal(map[string]any{"Version": version, "Statement": statements}, true)
}

// extractObject returns the first balanced JSON object in text after the
// first occurrence of marker (from the start when marker is empty).
func extractObject(text, marker string) (string, error) {
	start := 0
	if marker != "" {
		i := strings.Index(text, marker)
		if i < 0 {
			return "", fmt.Errorf("marker %q not found", marker)
		}
		start = i + len(marker)
	}
	// The object starts at the first line whose first non-blank character
	// is "{": a brace inside text (a ${Placeholder}) is not it.
	open := -1
	for i := start; i < len(text); i++ {
		if text[i] == '{' && strings.TrimSpace(text[strings.LastIndexByte(text[:i], '\n')+1:i]) == "" {
			open = i
			break
		}
	}
	if open < 0 {
		return "", fmt.Errorf("no JSON object after %q", marker)
	}
	depth, inString, escaped := 0, false, false
	for i := open; i < len(text); i++ {
		c := text[i]
		switch {
		case escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case c == '"':
			inString = !inString
		case inString:
		case c == '{':
			depth++
		case c == '}':
			depth--
			if depth == 0 {
				return text[open : i+1], nil
			}
		}
	}
	return "", fmt.Errorf("unbalanced JSON object after %q", marker)
}

// marshal is encoding/json without HTML escaping (IAM documents hold & < >).
func marshal(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	if indent {
		return buf.Bytes(), nil // keep the final newline: these are files
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
