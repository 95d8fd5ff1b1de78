package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/iambind/iambind/generator"
)

// Schema is the subset of JSON Schema (draft-07) the generator writes, in the
// key order a reader expects.
type Schema struct {
	Schema               string    `json:"$schema,omitempty"`
	Title                string    `json:"title,omitempty"`
	Description          string    `json:"description,omitempty"`
	Type                 any       `json:"type,omitempty"` // a string or a list of strings
	Const                any       `json:"const,omitempty"`
	Enum                 []any     `json:"enum,omitempty"`
	Default              any       `json:"default,omitempty"`
	Pattern              string    `json:"pattern,omitempty"`
	MinLength            *int      `json:"minLength,omitempty"`
	MaxLength            *int      `json:"maxLength,omitempty"`
	Minimum              *int64    `json:"minimum,omitempty"`
	Maximum              *int64    `json:"maximum,omitempty"`
	MinItems             *int      `json:"minItems,omitempty"`
	MaxItems             *int      `json:"maxItems,omitempty"`
	UniqueItems          bool      `json:"uniqueItems,omitempty"`
	Items                *Schema   `json:"items,omitempty"`
	Required             []string  `json:"required,omitempty"`
	Properties           *Props    `json:"properties,omitempty"`
	PropertyNames        *Schema   `json:"propertyNames,omitempty"`
	MaxProperties        *int      `json:"maxProperties,omitempty"`
	AdditionalProperties any       `json:"additionalProperties,omitempty"` // bool or *Schema
	AnyOf                []*Schema `json:"anyOf,omitempty"`
}

// Props keeps properties in Go field order.
type Props struct {
	names   []string
	schemas map[string]*Schema
}

func (p *Props) add(name string, s *Schema) {
	if p.schemas == nil {
		p.schemas = map[string]*Schema{}
	}
	if _, dup := p.schemas[name]; !dup {
		p.names = append(p.names, name)
	}
	p.schemas[name] = s
}

// MarshalJSON writes the properties in insertion order.
func (p *Props) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, name := range p.names {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		v, err := marshal(p.schemas[name])
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

// merge copies every field set in rule over s.
func (s *Schema) merge(rule *Schema) {
	dst, src := reflect.ValueOf(s).Elem(), reflect.ValueOf(rule).Elem()
	for i := 0; i < src.NumField(); i++ {
		if !src.Field(i).IsZero() {
			dst.Field(i).Set(src.Field(i))
		}
	}
}

// typeInfo is a named type declared in the package.
type typeInfo struct {
	spec          *ast.TypeSpec
	doc           string
	unmarshalJSON bool // decodes itself: its JSON shape is not its Go shape
}

type gen struct {
	pkgs     map[string]map[string]*typeInfo // package name → its named types
	pkg      string                          // the package being read
	types    map[string]*typeInfo            // pkgs[pkg]
	allRules map[string]map[string]*Schema
	kind     string
	rules    map[string]*Schema // rules of the kind being generated, by field path
	used     map[string]bool
	active   map[string]bool // named types being expanded (recursion guard)
}

// Generate returns the schema files (name → content) for every kind declared
// in the Go packages in dirs; a directory that does not exist is skipped (a
// package of kinds not merged yet), with its name in skipped.
func Generate(dirs []string) (files map[string][]byte, skipped []string, err error) {
	return generate(dirs, kindRules)
}

func generate(dirs []string, rules map[string]map[string]*Schema) (map[string][]byte, []string, error) {
	g := &gen{pkgs: map[string]map[string]*typeInfo{}, allRules: rules}
	type kindRef struct{ pkg, name string }
	var kinds []kindRef
	var skipped []string
	for _, dir := range dirs {
		if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
			skipped = append(skipped, dir)
			continue
		}
		fset := token.NewFileSet()
		pkgs, err := parsePackages(fset, dir)
		if err != nil {
			return nil, nil, err
		}
		for name, files := range pkgs {
			types := g.pkgs[name]
			if types == nil {
				types = map[string]*typeInfo{}
				g.pkgs[name] = types
			}
			for _, f := range files {
				collectTypes(f, types)
			}
			for tname, ti := range types {
				if isKind(ti.spec) && !slices.Contains(kinds, kindRef{name, tname}) {
					kinds = append(kinds, kindRef{name, tname})
				}
			}
		}
	}
	slices.SortFunc(kinds, func(a, b kindRef) int { return strings.Compare(a.name, b.name) })
	if len(kinds) == 0 {
		return nil, nil, fmt.Errorf("no kinds (structs with apiVersion, kind, metadata and spec) found in %s", strings.Join(dirs, ", "))
	}
	for kind := range rules {
		if !slices.ContainsFunc(kinds, func(k kindRef) bool { return k.name == kind }) {
			return nil, nil, fmt.Errorf("rules.go has rules for kind %s, which no package declares", kind)
		}
	}
	files := map[string][]byte{}
	for _, k := range kinds {
		if _, dup := files[FileName(k.name)]; dup {
			return nil, nil, fmt.Errorf("kind %s is declared twice", k.name)
		}
		g.pkg, g.types = k.pkg, g.pkgs[k.pkg]
		s, err := g.kindSchema(k.name)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", k.name, err)
		}
		var data bytes.Buffer
		// json.Indent, not MarshalIndent: that would HTML-escape the < > of descriptions.
		if err := json.Indent(&data, mustMarshal(s), "", "  "); err != nil {
			return nil, nil, err
		}
		files[FileName(k.name)] = append(data.Bytes(), '\n')
	}
	return files, skipped, nil
}

// parsePackages parses the non-test .go files of dir, with comments, and
// groups them by package name. Like parser.ParseDir (deprecated), which it
// replaces, it ignores build tags.
func parsePackages(fset *token.FileSet, dir string) (map[string][]*ast.File, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	pkgs := map[string][]*ast.File{}
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, name), nil, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		pkgs[f.Name.Name] = append(pkgs[f.Name.Name], f)
	}
	return pkgs, nil
}

// FileName is kubeconform's default name for a kind's schema,
// {{ .ResourceKind }}{{ .KindSuffix }}.json: kind, first label of the group,
// and version, lower case.
func FileName(kind string) string {
	group, _, _ := strings.Cut(generator.Group, ".")
	return strings.ToLower(kind) + "-" + group + "-" + generator.Version + ".json"
}

func mustMarshal(v any) []byte {
	b, err := marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func collectTypes(f *ast.File, types map[string]*typeInfo) {
	var methods []string
	for _, decl := range f.Decls {
		switch d := decl.(type) {
		case *ast.GenDecl:
			if d.Tok != token.TYPE {
				continue
			}
			for _, spec := range d.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(d.Specs) == 1 {
					doc = d.Doc
				}
				ti := types[ts.Name.Name]
				if ti == nil {
					ti = &typeInfo{}
					types[ts.Name.Name] = ti
				}
				ti.spec, ti.doc = ts, docText(doc)
			}
		case *ast.FuncDecl:
			if d.Recv != nil && d.Name.Name == "UnmarshalJSON" && len(d.Recv.List) == 1 {
				methods = append(methods, receiverName(d.Recv.List[0].Type))
			}
		}
	}
	for _, name := range methods {
		if types[name] == nil {
			types[name] = &typeInfo{}
		}
		types[name].unmarshalJSON = true
	}
}

func receiverName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}

// devRef is a pointer for developers (the design documents, a source file),
// meaningless in an editor's hover text: "(generator/x.go)", "; see x.go".
var devRef = regexp.MustCompile(`\s*\([\w/.-]+\.go\)|;? see [\w/.-]+\.go`)

func docText(cg *ast.CommentGroup) string {
	if cg == nil {
		return ""
	}
	return devRef.ReplaceAllString(strings.Join(strings.Fields(cg.Text()), " "), "")
}

func isKind(ts *ast.TypeSpec) bool {
	if ts == nil {
		return false
	}
	st, ok := ts.Type.(*ast.StructType)
	if !ok {
		return false
	}
	have := map[string]bool{}
	for _, f := range st.Fields.List {
		have[jsonName(f)] = true
	}
	return have["apiVersion"] && have["kind"] && have["metadata"] && have["spec"]
}

// jsonName is the field's JSON key ("" for embedded fields without a tag, "-" for skipped).
func jsonName(f *ast.Field) string {
	if f.Tag != nil {
		tag, _ := strconv.Unquote(f.Tag.Value)
		if name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ","); name != "" {
			return name
		}
	}
	if len(f.Names) == 0 {
		return ""
	}
	return f.Names[0].Name
}

func (g *gen) kindSchema(kind string) (*Schema, error) {
	g.kind, g.rules, g.used, g.active = kind, g.allRules[kind], map[string]bool{}, map[string]bool{}
	ti := g.types[kind]
	s, err := g.structSchema(ti.spec.Type.(*ast.StructType), "")
	if err != nil {
		return nil, err
	}
	s.Schema = "http://json-schema.org/draft-07/schema#"
	s.Title = kind
	s.Description = ti.doc
	s.Required = []string{"apiVersion", "kind", "metadata"}
	s.Properties.schemas["apiVersion"] = &Schema{Description: "API group and version.", Type: "string", Const: generator.APIVersion}
	s.Properties.schemas["kind"] = &Schema{Type: "string", Const: kind}
	for path := range g.rules {
		if !g.used[path] {
			return nil, fmt.Errorf("rules.go has a rule for %s, which the Go type does not have", path)
		}
	}
	return s, nil
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func (g *gen) structSchema(st *ast.StructType, path string) (*Schema, error) {
	s := &Schema{Type: "object", Properties: &Props{}, AdditionalProperties: false}
	for _, f := range st.Fields.List {
		name := jsonName(f)
		if name == "-" || (len(f.Names) > 0 && !f.Names[0].IsExported()) {
			continue
		}
		if name == "" { // embedded without a tag: its fields are inlined
			inner, err := g.typeSchema(f.Type, path)
			if err != nil {
				return nil, err
			}
			if inner.Properties != nil {
				for _, n := range inner.Properties.names {
					s.Properties.add(n, inner.Properties.schemas[n])
				}
				s.Required = append(s.Required, inner.Required...)
			}
			continue
		}
		fieldPath := join(path, name)
		fs, err := g.typeSchema(f.Type, fieldPath)
		if err != nil {
			return nil, err
		}
		if d := docText(f.Doc); d != "" {
			fs.Description = d
		} else if d := docText(f.Comment); d != "" {
			fs.Description = d
		}
		g.apply(fs, fieldPath)
		s.Properties.add(name, fs)
	}
	return s, nil
}

// apply merges the rule for path, if any.
func (g *gen) apply(s *Schema, path string) {
	if rule, ok := g.rules[path]; ok {
		s.merge(rule)
		g.used[path] = true
	}
	if rule, ok := pendingRules[g.kind][path]; ok {
		s.merge(rule)
	}
}

func (g *gen) typeSchema(expr ast.Expr, path string) (*Schema, error) {
	switch t := expr.(type) {
	case *ast.StarExpr:
		return g.typeSchema(t.X, path)
	case *ast.Ident:
		switch t.Name {
		case "string":
			return &Schema{Type: "string"}, nil
		case "bool":
			return &Schema{Type: "boolean"}, nil
		case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
			return &Schema{Type: "integer"}, nil
		case "float32", "float64":
			return &Schema{Type: "number"}, nil
		case "any":
			return &Schema{}, nil
		}
		return g.named(t.Name, path)
	case *ast.ArrayType:
		if id, ok := t.Elt.(*ast.Ident); ok && id.Name == "byte" {
			return &Schema{Type: "string"}, nil // encoding/json writes []byte as base64
		}
		items, err := g.typeSchema(t.Elt, path+"[]")
		if err != nil {
			return nil, err
		}
		g.apply(items, path+"[]")
		return &Schema{Type: "array", Items: items}, nil
	case *ast.MapType:
		values, err := g.typeSchema(t.Value, path+".*")
		if err != nil {
			return nil, err
		}
		g.apply(values, path+".*")
		return &Schema{Type: "object", AdditionalProperties: values}, nil
	case *ast.StructType:
		return g.structSchema(t, path)
	case *ast.InterfaceType:
		return &Schema{}, nil
	case *ast.SelectorExpr:
		// A type of another scanned package (generator.ObjectMeta) is read
		// there; json.RawMessage and other foreign types are any JSON value
		// (a rule says more where the function is stricter).
		if x, ok := t.X.(*ast.Ident); ok && g.pkgs[x.Name] != nil {
			saved, savedTypes := g.pkg, g.types
			g.pkg, g.types = x.Name, g.pkgs[x.Name]
			defer func() { g.pkg, g.types = saved, savedTypes }()
			return g.named(t.Sel.Name, path)
		}
		return &Schema{}, nil
	}
	return nil, fmt.Errorf("%s: unsupported Go type %T", path, expr)
}

func (g *gen) named(name, path string) (*Schema, error) {
	ti := g.types[name]
	if ti == nil || ti.spec == nil {
		return nil, fmt.Errorf("%s: type %s is not declared in the package", path, name)
	}
	if ti.unmarshalJSON {
		// It decodes itself (e.g. a string or a list): do not guess its shape.
		return &Schema{Description: ti.doc}, nil
	}
	key := g.pkg + "." + name
	if g.active[key] {
		return nil, fmt.Errorf("%s: recursive type %s", path, name)
	}
	g.active[key] = true
	defer delete(g.active, key)
	s, err := g.typeSchema(ti.spec.Type, path)
	if err != nil {
		return nil, err
	}
	if name == "ObjectMeta" {
		// The rest of Kubernetes metadata (uid, generation, ...) is allowed.
		s.AdditionalProperties = nil
		s.Required = []string{"name"}
	}
	if s.Description == "" {
		s.Description = ti.doc
	}
	return s, nil
}
