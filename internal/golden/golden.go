// Package golden compares a test's output with a reviewed file in the
// repository. One helper, so every golden test (the markdown plans, the CLI's
// end-to-end output, the examples' expected builds) is refreshed with the
// same WRITE_GOLDEN_OUTPUT=1 and reports a difference the same way.
package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// Check fails t unless the file at path holds exactly got. With
// WRITE_GOLDEN_OUTPUT set it first writes got there (creating the
// directory), for review in the diff.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if os.Getenv("WRITE_GOLDEN_OUTPUT") != "" {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file: %v (WRITE_GOLDEN_OUTPUT=1 creates it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (WRITE_GOLDEN_OUTPUT=1 to refresh after review); got:\n%s", path, got)
	}
}
