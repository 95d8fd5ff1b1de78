package krmstream

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// trickle hands out its data a few bytes at a time, pausing between reads
// as a pipe from a slower producer does, so the workers decode documents
// before the read ends.
type trickle struct {
	data  []byte
	chunk int
}

func (t *trickle) Read(p []byte) (int, error) {
	if len(t.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(50 * time.Microsecond)
	n := copy(p[:min(len(p), t.chunk)], t.data)
	t.data = t.data[n:]
	return n, nil
}

// parseAfterRead parses data as if nothing had been decoded during the read.
func parseAfterRead(t *testing.T, data string) (string, error) {
	t.Helper()
	in, err := ReadInput(strings.NewReader(""))
	if err != nil {
		t.Fatal(err)
	}
	in.Data = []byte(data)
	return parseAndWrite(in)
}

func parseAndWrite(in *Input) (string, error) {
	s, err := in.Stream()
	if err != nil {
		return "", err
	}
	// Change one object, so that the output mixes passed-on text and
	// encoded objects: a decoded tree given to the wrong object shows.
	if len(s.Objects) > 1 {
		if err := s.Objects[1].SetAnnotation("changed", "yes"); err != nil {
			return "", err
		}
	}
	var b bytes.Buffer
	err = s.Write(&b, s.Objects)
	return b.String(), err
}

// Whatever arrives when, the documents decoded during the read give the
// stream that parsing after the read gives: the same objects, text, order
// and errors.
func TestReadAheadMatchesParsingAfterTheRead(t *testing.T) {
	var many strings.Builder
	for i := range 300 {
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-%d # c\ndata:\n  k: '%d'\n", i%7, i%5)
	}
	cases := map[string]string{
		"many, with identical documents": many.String(),
		"CRLF line ends":                 "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: b\r\n---\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: c\r\n",
		"a List among documents":         "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"empty documents and comments":   "---\n# only a comment\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- # next\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"a broken document":              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkey: [unclosed\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
		"an invalid separator":           "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n--- oops\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
		"not an object":                  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n- a\n- b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
	}
	for name, data := range cases {
		want, wantErr := parseAfterRead(t, data)
		for _, chunk := range []int{5, 64, 1 << 20} {
			in, err := ReadInput(&trickle{data: []byte(data), chunk: chunk})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if string(in.Data) != data {
				t.Fatalf("%s, %d-byte reads: Data differs from the input", name, chunk)
			}
			got, gotErr := parseAndWrite(in)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got != want {
				t.Errorf("%s, %d-byte reads:\ngot  %q, %v\nwant %q, %v", name, chunk, got, gotErr, want, wantErr)
			}
		}
	}
}

// The documents a separator closes are decoded during the read: only the
// last one is left for after it.
func TestReadAheadDecodesDuringTheRead(t *testing.T) {
	data := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
	in, err := ReadInput(&trickle{data: []byte(data), chunk: 16})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ds := range in.ahead {
		n += len(ds)
	}
	if n != 2 {
		t.Fatalf("%d documents decoded during the read, want 2 (every one a separator closed)", n)
	}
}

type failing struct{ after []byte }

func (f *failing) Read(p []byte) (int, error) {
	if len(f.after) == 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, f.after)
	f.after = f.after[n:]
	return n, nil
}

// A read that fails is an error, whatever was decoded before it.
func TestReadInputReportsReadErrors(t *testing.T) {
	if _, err := ReadInput(&failing{after: []byte("apiVersion: v1\n---\napiVersion: v1\n---\n")}); err != io.ErrUnexpectedEOF {
		t.Fatalf("err = %v, want %v", err, io.ErrUnexpectedEOF)
	}
}

// writeChanged changes the stream as a caller would: every object that is
// not a ConfigMap gets an annotation, and a new object goes at the end.
func writeChanged(s *Stream) (string, error) {
	for _, obj := range s.Objects {
		if obj.GetKind() != "ConfigMap" {
			if err := obj.SetAnnotation("changed", "yes"); err != nil {
				return "", err
			}
		}
	}
	made, err := fn.ParseKubeObject([]byte("apiVersion: v1\nkind: Secret\nmetadata:\n  name: made\n"))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = s.Write(&b, append(s.Objects, made))
	return b.String(), err
}

// Documents set aside come back where they stood: a stream read with
// ConfigMaps set aside, changed and written, is the stream read whole and
// changed alike; taken back, the set-aside objects are where they were.
func TestSetAsideWritesTheSameStream(t *testing.T) {
	var many strings.Builder
	for i := range 200 {
		kind := []string{"ConfigMap", "Secret", "ConfigMap", "Service"}[i%4]
		fmt.Fprintf(&many, "---\napiVersion: v1\nkind: %s\nmetadata:\n  name: x-%d\ndata:\n  k: '%d'\n", kind, i%7, i%5)
	}
	cases := map[string]string{
		"many, with identical documents": many.String(),
		"set aside first and last":       "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c",
		"a List among them":              "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n",
		"CRLF line ends":                 "apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n---\r\napiVersion: v1\r\nkind: Secret\r\nmetadata:\r\n  name: b\r\n",
		"only set aside":                 "# c\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n",
		"a broken document after":        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\nkey: [unclosed\n",
		"file annotations":               "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    internal.config.kubernetes.io/path: a.yaml\n  name: a\n",
	}
	configMaps := func(_, kind, _ string) bool { return kind == "ConfigMap" }
	for name, data := range cases {
		whole, err := ReadInput(strings.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		ws, wantErr := whole.Stream()
		var want string
		if wantErr == nil {
			want, wantErr = writeChanged(ws)
		}
		for _, chunk := range []int{5, 64, 1 << 20} {
			for _, takeBack := range []bool{false, true} {
				in, err := ReadInputSettingAside(&trickle{data: []byte(data), chunk: chunk}, configMaps)
				if err != nil {
					t.Fatal(err)
				}
				s, gotErr := in.Stream()
				var got string
				if gotErr == nil {
					if s.Len() != len(ws.Objects) {
						t.Errorf("%s: Len %d, want %d", name, s.Len(), len(ws.Objects))
					}
					if takeBack {
						if err := s.TakeBack(); err != nil {
							t.Fatal(err)
						}
						if s.SetAside() != 0 || len(s.Objects) != len(ws.Objects) {
							t.Errorf("%s: after TakeBack, %d set aside and %d objects, want 0 and %d", name, s.SetAside(), len(s.Objects), len(ws.Objects))
						}
					}
					got, gotErr = writeChanged(s)
				}
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || got != want {
					t.Errorf("%s, %d-byte reads, taken back %v:\ngot  %q, %v\nwant %q, %v", name, chunk, takeBack, got, gotErr, want, wantErr)
				}
			}
		}
	}
	// Something is set aside where the test says so, and nothing where a file annotation is.
	for data, want := range map[string]int{cases["many, with identical documents"]: 100, cases["file annotations"]: 0} {
		in, err := ReadInputSettingAside(strings.NewReader(data), configMaps)
		if err != nil {
			t.Fatal(err)
		}
		if s, err := in.Stream(); err != nil || s.SetAside() != want {
			t.Errorf("%d set aside (%v), want %d", s.SetAside(), err, want)
		}
	}
}
