package reconcile

import (
	"bufio"
	"bytes"
	"encoding"
	"encoding/json"
	"io"
	"reflect"
	"slices"
	"strings"
)

// WriteJSON writes v as indented JSON without HTML escaping: the bytes of a
// json.Encoder with SetIndent("", "  "). A struct is written a field at a
// time and a list field an element at a time, so that a document of
// 10,000 roles is never held whole (json.Encoder holds it twice, compact
// and then indented, at the end of a run that already holds the plan).
func WriteJSON(w io.Writer, v any) error {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer && !rv.IsNil() {
		rv = rv.Elem()
	}
	fields, ok := streamFields(rv)
	if !ok {
		b, err := encodeJSON(v, "")
		if err != nil {
			return err
		}
		_, err = w.Write(append(b, '\n'))
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	bw.WriteByte('{')
	n := 0
	for _, f := range fields {
		fv := rv.FieldByIndex(f.index)
		if f.omitEmpty && isEmptyJSON(fv) {
			continue
		}
		if n > 0 {
			bw.WriteByte(',')
		}
		n++
		bw.WriteString("\n  ")
		key, err := encodeJSON(f.name, "  ")
		if err != nil {
			return err
		}
		bw.Write(key)
		bw.WriteString(": ")
		if fv.Kind() == reflect.Slice && fv.Len() > 0 && fv.Type().Elem().Kind() != reflect.Uint8 {
			bw.WriteByte('[')
			for j := range fv.Len() {
				if j > 0 {
					bw.WriteByte(',')
				}
				bw.WriteString("\n    ")
				b, err := encodeJSON(fv.Index(j).Interface(), "    ")
				if err != nil {
					return err
				}
				bw.Write(b)
			}
			bw.WriteString("\n  ]")
			continue
		}
		b, err := encodeJSON(fv.Interface(), "  ")
		if err != nil {
			return err
		}
		bw.Write(b)
	}
	if n > 0 {
		bw.WriteByte('\n')
	}
	bw.WriteString("}\n")
	return bw.Flush()
}

// encodeJSON is v as json.Encoder indents it at prefix, without the newline.
func encodeJSON(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent(prefix, "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

var (
	jsonMarshaler = reflect.TypeFor[json.Marshaler]()
	textMarshaler = reflect.TypeFor[encoding.TextMarshaler]()
)

type jsonStreamField struct {
	index     []int
	name      string
	omitEmpty bool
}

// streamFields are a struct's JSON fields in encoding/json's order, for a
// struct WriteJSON names as encoding/json does: no marshaler of its own, no
// option but omitempty, embedded structs only untagged and by value, no
// name given twice. ok is false otherwise.
func streamFields(rv reflect.Value) (fields []jsonStreamField, ok bool) {
	if rv.Kind() != reflect.Struct {
		return nil, false
	}
	seen := map[string]bool{}
	var walk func(t reflect.Type, index []int) bool
	walk = func(t reflect.Type, index []int) bool {
		for _, m := range []reflect.Type{jsonMarshaler, textMarshaler} {
			if t.Implements(m) || reflect.PointerTo(t).Implements(m) {
				return false
			}
		}
		for i := range t.NumField() {
			f := t.Field(i)
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if opts != "" && opts != "omitempty" {
				return false
			}
			at := append(slices.Clone(index), i)
			if f.Anonymous {
				if tag != "" || f.Type.Kind() != reflect.Struct || !walk(f.Type, at) {
					return false
				}
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if seen[name] {
				return false
			}
			seen[name] = true
			fields = append(fields, jsonStreamField{index: at, name: name, omitEmpty: opts == "omitempty"})
		}
		return true
	}
	return fields, walk(rv.Type(), nil)
}

// isEmptyJSON is encoding/json's test for omitempty.
func isEmptyJSON(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64,
		reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}
