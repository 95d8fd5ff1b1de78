// Package manifests finds the manifest files a -f path names (the rendered
// output `iambind plan` reads, the binding sources `iambind migrate` edits).
package manifests

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Files expands a path into the manifest files it names: the file itself,
// or every *.yaml, *.yml and *.json under a directory, in lexical order.
func Files(p string) ([]string, error) {
	st, err := os.Stat(p)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		return []string{p}, nil
	}
	var out []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		switch strings.ToLower(filepath.Ext(path)) {
		case ".yaml", ".yml", ".json":
			out = append(out, path)
		}
		return nil
	})
	return out, err // WalkDir visits in lexical order: deterministic
}
