package main

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// builtBinaries are iambind-fn and iambind built from this checkout into a
// test's temporary directory.
type builtBinaries struct {
	root string // the repository root
	dir  string // the temporary directory holding both binaries
	fn   string // iambind-fn
	cli  string // iambind
}

// buildBinaries builds both binaries with go build (plus buildFlags, such
// as -ldflags): the end-to-end tests of this package each drive the pair.
func buildBinaries(t *testing.T, buildFlags ...string) builtBinaries {
	t.Helper()
	b := builtBinaries{dir: t.TempDir()}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	b.root = root
	b.fn, b.cli = filepath.Join(b.dir, "iambind-fn"), filepath.Join(b.dir, "iambind")
	for bin, pkg := range map[string]string{b.fn: "./fn", b.cli: "./cmd/iambind"} {
		args := append(append([]string{"build"}, buildFlags...), "-o", bin, pkg)
		build := exec.Command("go", args...)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return b
}
