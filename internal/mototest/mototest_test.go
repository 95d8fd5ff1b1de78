package mototest

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

func TestStartServesIAMWithManagedPolicies(t *testing.T) {
	s := Start(t)
	resp, err := http.Get(s.Endpoint + "/?Action=GetPolicy&Version=2010-05-08&PolicyArn=arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("AWS managed policies not loaded: GetPolicy status %d", resp.StatusCode)
	}
}

// fatalRecorder captures Fatalf instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

type fatalCalled struct{}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	panic(fatalCalled{})
}

func TestStartFailsLoudlyWithoutMotoServer(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	rec := &fatalRecorder{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(fatalCalled); !ok {
					panic(r)
				}
			}
		}()
		Start(rec)
	}()
	if !strings.Contains(rec.msg, "moto_server is not on PATH") {
		t.Fatalf("want a failure naming moto_server, got %q", rec.msg)
	}
}
