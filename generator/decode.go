package generator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	sigsyaml "sigs.k8s.io/yaml"
)

// decodeStrict decodes one YAML object into out (a pointer to an API struct).
// Unknown fields and wrong types become Problems that name the field path, so
// a typo such as `spec.role.maxSesionDuration` is an error rather than a silently
// ignored setting.
func decodeStrict(yamlDoc []byte, out any, sink problemSink) bool {
	jsonDoc, err := sigsyaml.YAMLToJSON(yamlDoc)
	if err != nil {
		sink.errorf("", "cannot parse YAML: %v", err)
		return false
	}
	var generic any
	if err := json.Unmarshal(jsonDoc, &generic); err != nil {
		sink.errorf("", "cannot parse object: %v", err)
		return false
	}
	ok := true
	for _, path := range unknownFields(generic, reflect.TypeOf(out).Elem(), "") {
		sink.errorf(path, "unknown field (check the spelling against the %s API)", APIVersion)
		ok = false
	}
	if !ok {
		return false
	}
	if err := json.Unmarshal(jsonDoc, out); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			msg := fmt.Sprintf("must be %s, got %s", describeType(typeErr.Type), typeErr.Value)
			if strings.HasSuffix(field, "accountID") && typeErr.Value == "number" {
				msg += ` (quote account IDs: accountID: "111122223333", or leading zeros are lost)`
			}
			sink.errorf(field, "%s", msg)
			return false
		}
		sink.errorf("", "cannot decode: %v", err)
		return false
	}
	return true
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

// unknownFields walks a decoded JSON value against the Go type it will be
// decoded into and returns the dotted paths of keys that type does not have.
// metadata is left to Kubernetes' own rules (uid, generation, ... are fine).
func unknownFields(v any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(json.RawMessage{}) || t == reflect.TypeOf(ObjectMeta{}) {
		return nil
	}
	var out []string
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type error, reported by the decoder
		}
		fields := map[string]reflect.Type{}
		for i := 0; i < t.NumField(); i++ {
			name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
			fields[name] = t.Field(i).Type
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ft, known := fields[k]
			if !known {
				out = append(out, joinPath(path, k))
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
		sort.Strings(out)
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
	return json.Marshal(v)
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
