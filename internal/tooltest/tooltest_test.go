package tooltest

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBinDirIsTheRepositoryBin(t *testing.T) {
	if _, err := os.Stat(filepath.Join(filepath.Dir(binDir), "go.mod")); err != nil {
		t.Fatalf("%s is not the bin/ of the repository root: %v", binDir, err)
	}
}
