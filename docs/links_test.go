// Package docs holds the user documentation; this test keeps its links and
// the README's inside the repository.
package docs

import (
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

// markdownFiles: the README, docs/, and every README under examples/, fn/, deploy/.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{filepath.Join(repoRoot, "README.md")}
	docs, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	files = append(files, docs...)
	for _, dir := range []string{"examples", "fn", "deploy"} {
		filepath.WalkDir(filepath.Join(repoRoot, dir), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.EqualFold(d.Name(), "README.md") {
				files = append(files, path)
			}
			return nil
		})
	}
	return files
}

// links returns every link and image destination of a Markdown document, as
// GitHub's Markdown (CommonMark with GFM tables) reads it.
func links(t *testing.T, src []byte) []string {
	t.Helper()
	md := goldmark.New(goldmark.WithExtensions(extension.Table, extension.Strikethrough))
	doc := md.Parser().Parse(text.NewReader(src))
	var out []string
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			out = append(out, string(n.Destination))
		case *ast.Image:
			out = append(out, string(n.Destination))
		case *ast.AutoLink:
			out = append(out, string(n.URL(src)))
		}
		return ast.WalkContinue, nil
	})
	return out
}

// TestLinksStayInTheRepository: every link in the README and docs is relative
// and resolves to a file or directory inside this repository, so a clone
// has everything the docs point to; none leaves the repository root.
func TestLinksStayInTheRepository(t *testing.T) {
	files := markdownFiles(t)
	if len(files) < 4 {
		t.Fatalf("found only %d Markdown files", len(files))
	}
	total := 0
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(repoRoot, file)
		for _, link := range links(t, src) {
			total++
			if problem := checkLink(file, link); problem != "" {
				t.Errorf("%s: link %q %s", rel, link, problem)
			}
		}
	}
	if total < 10 {
		t.Errorf("found only %d links: is the parser reading the files?", total)
	}
}

func checkLink(file, link string) string {
	u, err := url.Parse(link)
	switch {
	case err != nil:
		return "does not parse: " + err.Error()
	case u.Scheme != "" || u.Host != "" || strings.HasPrefix(link, "//"):
		return "points outside the repository (only relative links to files in it are allowed)"
	case u.Path == "":
		return "" // an anchor in the same document
	case strings.HasPrefix(u.Path, "/"):
		return "is absolute; use a path relative to the document"
	}
	target := filepath.Join(filepath.Dir(file), filepath.FromSlash(u.Path))
	rel, err := filepath.Rel(repoRoot, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "leaves the repository root"
	}
	if _, err := os.Stat(target); err != nil {
		return "does not resolve to a file in the repository"
	}
	return ""
}

func TestCheckLink(t *testing.T) {
	readme := filepath.Join(repoRoot, "README.md")
	for link, bad := range map[string]bool{
		"docs/api.md": false, "docs/api.md#guardrails": false, "#the-api": false, "schemas": false,
		"../shared/SPEC.md": true, "https://example.com/x": true, "//example.com": true,
		"/etc/passwd": true, "docs/missing.md": true, "mailto:a@b.c": true,
	} {
		if got := checkLink(readme, link) != ""; got != bad {
			t.Errorf("checkLink(%q) bad = %v, want %v", link, got, bad)
		}
	}
}
