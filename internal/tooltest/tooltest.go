// Package tooltest gives tests the pinned third-party tools the Makefile
// installs into bin/ (kustomize, kubeconform, actionlint). Shared so each
// test that runs one finds or installs it the same way.
package tooltest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// binDir is the repository's bin/, where `make tools` installs.
var binDir = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(filepath.Dir(filepath.Dir(file))), "bin")
}()

// Binary returns bin/<name>, installing pkg@version there with `go install`
// when it is missing (as `make tools` does).
func Binary(t testing.TB, name, pkg, version string) string {
	t.Helper()
	bin := filepath.Join(binDir, name)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command("go", "install", pkg+"@"+version)
	cmd.Env = append(os.Environ(), "GOBIN="+binDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing %s %s failed (run `make tools`): %v\n%s", name, version, err, out)
	}
	return bin
}

// BuildFunction builds iambind-fn from this checkout into bin/, where the
// examples' kustomizations and imported ones find it, and returns its path.
// Shared by the TestMains that run the function through kustomize.
func BuildFunction() (string, error) {
	bin := filepath.Join(binDir, "iambind-fn")
	cmd := exec.Command("go", "build", "-o", bin, "./fn")
	cmd.Dir = filepath.Dir(binDir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building iambind-fn: %v\n%s", err, out)
	}
	return bin, nil
}
