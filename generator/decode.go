package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/suggest"
)

// nodeOf returns the YAML node behind obj without copying it, for code that reads
// or edits it in place (the SDK offers only moves: move out, take the node, move back).
func nodeOf(obj *fn.KubeObject) *yaml.Node {
	rn := obj.MoveToResourceNode()
	n := rn.YNode()
	*obj = *fn.MoveToKubeObject(rn)
	return n
}

// decodeStrict decodes one YAML object into out (a pointer to an API struct).
// It only reads node, which callers lend from the object (nodeOf) rather
// than copy: a copy of every binding was a quarter of planning one.
// Unknown fields and wrong types become Problems that name the field path, so
// a typo such as `spec.role.maxSesionDuration` is an error rather than a silently
// ignored setting.
func decodeStrict(node *yaml.Node, out any, sink problemSink) bool {
	generic, err := nodeToValue(node, "", &aliasBudget{left: maxExpandedNodes})
	if err != nil {
		sink.errorf(err.path, "%s", err.msg)
		return false
	}
	jsonDoc, jerr := json.Marshal(generic)
	if jerr != nil {
		sink.errorf("", "cannot convert to JSON: %v", jerr)
		return false
	}
	ok := true
	for _, u := range unknownFields(generic, reflect.TypeOf(out).Elem(), "") {
		if u.suggestion != "" {
			sink.errorf(u.path, "unknown field; did you mean %s?", u.suggestion)
		} else {
			sink.errorf(u.path, "unknown field (check the spelling against the %s API)", APIVersion)
		}
		ok = false
	}
	if !ok {
		return false
	}
	if err := json.Unmarshal(jsonDoc, out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			msg := fmt.Sprintf("must be %s, got %s", describeType(typeErr.Type), describeJSONValue(typeErr.Value))
			// UnmarshalTypeError.Field drops list indices and map keys
			// (spec.serviceAccounts.name, spec.role.tags); name the exact
			// field (spec.serviceAccounts[0].name, spec.role.tags.team).
			if path, want, got, found := typeMismatch(generic, reflect.TypeOf(out).Elem(), ""); found {
				field, msg = path, fmt.Sprintf("must be %s, got %s", describeType(want), got)
			}
			if strings.HasSuffix(field, "accountID") && typeErr.Value == "number" {
				msg += ` (quote account IDs: accountID: "111122223333", or leading zeros are lost)`
			}
			if strings.HasPrefix(field, "spec.policies.wellKnown[") && strings.HasSuffix(field, "]") {
				msg += " (each entry is an object: {name: ebsCSIDriver}, {name: velero, bucketARNs: [...]})"
			}
			sink.errorf(field, "%s", msg)
			return false
		}
		sink.errorf("", "cannot decode: %v", err)
		return false
	}
	return true
}

// typeMismatch walks a decoded value against the Go type it decodes into and
// returns the full path of the first value that does not fit, in the sorted
// key order json.Marshal writes (so it is the error json.Unmarshal reports).
func typeMismatch(v any, t reflect.Type, path string) (string, reflect.Type, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil || t == reflect.TypeOf(json.RawMessage{}) {
		return "", nil, "", false
	}
	switch t.Kind() {
	case reflect.String:
		if _, ok := v.(string); !ok {
			return path, t, jsonKind(v), true
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			return path, t, jsonKind(v), true
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var text string
		switch n := v.(type) {
		case json.Number:
			text = string(n)
		case float64:
			b, _ := json.Marshal(n)
			text = string(b)
		default:
			return path, t, jsonKind(v), true
		}
		if _, err := strconv.ParseInt(text, 10, t.Bits()); err != nil {
			return path, t, "number " + text, true
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, t, jsonKind(v), true
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if ft, known := fields[k]; known {
				if p, w, g, found := typeMismatch(obj[k], ft, joinPath(path, k)); found {
					return p, w, g, true
				}
			}
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return path, t, jsonKind(v), true
		}
		for i, item := range list {
			if p, w, g, found := typeMismatch(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); found {
				return p, w, g, true
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return path, t, jsonKind(v), true
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if p, w, g, found := typeMismatch(obj[k], t.Elem(), joinPath(path, k)); found {
				return p, w, g, true
			}
		}
	}
	return "", nil, "", false
}

// maxExpandedNodes bounds alias expansion ("billion laughs" documents).
const maxExpandedNodes = 100000

// maxNestingDepth bounds how deeply a document may nest. Without it a
// self-referencing alias (x: &a [*a]) or a very deep document is walked
// 100000 levels down, building ever longer field paths: seconds of CPU and
// a 300 KB error message from a 60-byte input.
const maxNestingDepth = 100

type aliasBudget struct {
	left   int
	depth  int
	active map[*yaml.Node]bool // anchors being expanded through an alias
}

type pathError struct{ path, msg string }

// nodeToValue converts a YAML node to plain Go values for JSON decoding with
// YAML 1.2 meanings, as kpt and kustomize read the same files: y/yes/on stay
// strings, an unquoted date stays the string written (not a timestamp),
// duplicate keys and merge keys are errors, and alias expansion is bounded.
func nodeToValue(n *yaml.Node, path string, budget *aliasBudget) (any, *pathError) {
	budget.left--
	if budget.left < 0 {
		return nil, &pathError{path, fmt.Sprintf("expands to more than %d YAML nodes (alias bomb?)", maxExpandedNodes)}
	}
	budget.depth++
	defer func() { budget.depth-- }()
	if budget.depth > maxNestingDepth {
		return nil, &pathError{path, fmt.Sprintf("line %d: nested more than %d levels deep", n.Line, maxNestingDepth)}
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return nodeToValue(n.Content[0], path, budget)
	case yaml.AliasNode:
		if budget.active[n.Alias] {
			return nil, &pathError{path, fmt.Sprintf("line %d: alias *%s refers to itself", n.Line, n.Value)}
		}
		if budget.active == nil {
			budget.active = map[*yaml.Node]bool{}
		}
		budget.active[n.Alias] = true
		defer delete(budget.active, n.Alias)
		return nodeToValue(n.Alias, path, budget)
	case yaml.MappingNode:
		obj := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind != yaml.ScalarNode {
				return nil, &pathError{path, fmt.Sprintf("line %d: keys must be strings", k.Line)}
			}
			if k.Value == "<<" && k.Tag == "!!merge" {
				return nil, &pathError{path, fmt.Sprintf("line %d: YAML merge keys (<<) are not supported here; write the fields out", k.Line)}
			}
			child := joinPath(path, k.Value)
			if _, dup := obj[k.Value]; dup {
				return nil, &pathError{child, fmt.Sprintf("line %d: key %q is given twice", k.Line, k.Value)}
			}
			v, err := nodeToValue(n.Content[i+1], child, budget)
			if err != nil {
				return nil, err
			}
			obj[k.Value] = v
		}
		return obj, nil
	case yaml.SequenceNode:
		list := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := nodeToValue(c, fmt.Sprintf("%s[%d]", path, i), budget)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	case yaml.ScalarNode:
		var v any
		var err error
		switch n.ShortTag() {
		case "!!null":
			return nil, nil
		case "!!bool":
			var b bool
			err = n.Decode(&b)
			v = b
		case "!!int":
			var i int64
			if err = n.Decode(&i); err == nil {
				v = json.Number(strconv.FormatInt(i, 10))
			}
		case "!!float":
			var f float64
			err = n.Decode(&f)
			v = f
			// JSON has no NaN or infinity: say where, rather than failing
			// the whole document's JSON conversion without a field path.
			if err == nil && (math.IsNaN(f) || math.IsInf(f, 0)) {
				return nil, &pathError{path, fmt.Sprintf("line %d: %s is not a number JSON can hold", n.Line, n.Value)}
			}
		default: // !!str, !!timestamp, !!binary, custom tags: the text as written
			return n.Value, nil
		}
		if err != nil {
			return nil, &pathError{path, fmt.Sprintf("line %d: %v", n.Line, err)}
		}
		return v, nil
	}
	return nil, &pathError{path, "unsupported YAML node"}
}

// describeJSONValue names a JSON value kind as json.UnmarshalTypeError reports it.
func describeJSONValue(v string) string {
	switch v {
	case "array":
		return "a list"
	case "object":
		return "an object"
	case "bool":
		return "a boolean"
	case "number", "string":
		return "a " + v
	}
	return v
}

func describeType(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean (true or false)"
	case reflect.Int, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Slice:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return t.String()
}

// unknownField is a key the API type does not have, with the closest field
// name it does have (the full path, "" when none is close).
type unknownField struct{ path, suggestion string }

// unknownFields walks a decoded JSON value against the Go type it will be
// decoded into and returns the dotted paths of keys that type does not have.
// metadata is left to Kubernetes' own rules (uid, generation, ... are fine).
func unknownFields(v any, t reflect.Type, path string) []unknownField {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage{}) {
		return nil
	}
	var out []unknownField
	if t == reflect.TypeOf(ObjectMeta{}) {
		// Other metadata fields are Kubernetes' business, but a key that
		// differs from name/namespace/labels/annotations only in case must
		// not count: encoding/json would match it case-insensitively, so
		// `nAme: x` became the binding's name while Kubernetes (and kpt,
		// kustomize) see an object without one. Found by FuzzDecodeBinding.
		obj, _ := v.(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			for i := 0; i < t.NumField(); i++ {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				if k != name && strings.EqualFold(k, name) {
					out = append(out, unknownField{joinPath(path, k), joinPath(path, name)})
				}
			}
		}
		return out
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the decoder
		}
		fields := map[string]reflect.Type{}
		names := make([]string, 0, t.NumField())
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
			names = append(names, name)
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, known := fields[k]
			if !known {
				u := unknownField{path: joinPath(path, k)}
				if close := suggest.Closest(k, names, 1); len(close) > 0 {
					u.suggestion = joinPath(path, close[0])
				}
				out = append(out, u)
				continue
			}
			out = append(out, unknownFields(obj[k], ft, joinPath(path, k))...)
		}
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			return nil
		}
		for i, item := range list {
			out = append(out, unknownFields(item, t.Elem(), fmt.Sprintf("%s[%d]", path, i))...)
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for k, item := range obj {
			out = append(out, unknownFields(item, t.Elem(), joinPath(path, k))...)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	}
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodePolicyDocument turns an inline policy given as a YAML object or as a
// JSON string into canonical compact JSON (object keys sorted, numbers kept).
func decodePolicyDocument(raw json.RawMessage) (json.RawMessage, error) {
	doc := bytes.TrimSpace(raw)
	var text string
	if len(doc) > 0 && doc[0] == '"' {
		if err := json.Unmarshal(doc, &text); err != nil {
			return nil, err
		}
		doc = []byte(text)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("not valid JSON: %v", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("not valid JSON: trailing data after the document")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, fmt.Errorf("must be a JSON object (an IAM policy document), got %s", jsonKind(v))
	}
	// Not json.Marshal: it HTML-escapes & < > as \u0026..., which IAM
	// documents (conditions, resource ARNs) may hold; the escapes would be
	// kept verbatim in role.json and counted 6-fold against the size quota.
	return MarshalJSON(v, false)
}

func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case []any:
		return "a list"
	case bool:
		return "a boolean"
	case json.Number, float64:
		return "a number"
	}
	return "an object"
}

// DecodeObject strictly decodes one KRM object into out (a pointer to an API
// struct), for iambind kinds that live in other packages (Guardrails): unknown
// fields and wrong types are error Problems naming the object and the field.
func DecodeObject(obj *fn.KubeObject, out any) Problems {
	var ps Problems
	decodeStrict(nodeOf(obj), out, problemSink{ref: refOf(obj), problems: &ps})
	return ps
}

// RefOf names a KRM object for Problems.
func RefOf(obj *fn.KubeObject) ResourceRef { return refOf(obj) }
