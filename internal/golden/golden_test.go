package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Helper()                           {}
func (r *recorder) Errorf(format string, args ...any) { r.failed = true }
func (r *recorder) Fatalf(format string, args ...any) { r.failed = true }

func TestCheck(t *testing.T) {
	t.Setenv("WRITE_GOLDEN_OUTPUT", "")
	path := filepath.Join(t.TempDir(), "out.txt")
	if err := os.WriteFile(path, []byte("same\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, got string
		fail      bool
	}{
		{path, "same\n", false},
		{path, "other\n", true},
		{filepath.Join(t.TempDir(), "missing.txt"), "x", true},
	} {
		r := &recorder{TB: t}
		Check(r, tc.path, tc.got)
		if r.failed != tc.fail {
			t.Errorf("Check(%s, %q): failed %v, want %v", tc.path, tc.got, r.failed, tc.fail)
		}
	}
}

func TestCheckWrites(t *testing.T) {
	t.Setenv("WRITE_GOLDEN_OUTPUT", "1")
	path := filepath.Join(t.TempDir(), "new", "out.txt")
	Check(t, path, "fresh\n")
	if b, err := os.ReadFile(path); err != nil || string(b) != "fresh\n" {
		t.Fatalf("golden file after a write: %q %v", b, err)
	}
}
