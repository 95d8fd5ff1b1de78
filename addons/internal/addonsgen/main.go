// Command addonsgen refreshes the embedded add-on policies from the pinned
// upstream copies:
//
//	go generate ./addons                          (offline: re-extract)
//	go run ./addons/internal/addonsgen -fetch     (network: download the copies again)
//
// Offline it checks each copy in addons/sources/ still has the sha256
// recorded in addons/sources.json, extracts every document into
// addons/policies/, and rewrites the generated part of docs/addons.md.
// With -fetch it first downloads each source at its pinned commit (change
// "ref" and "commit" in sources.json to move to a new release) and records
// the new hashes; review the diff of addons/policies/ before committing.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/iambind/iambind/addons"
)

func main() {
	root := flag.String("root", ".", "the repository root")
	fetch := flag.Bool("fetch", false, "download every source again at its pinned commit and record its sha256")
	base := flag.String("base-url", "https://raw.githubusercontent.com", "where -fetch downloads <repo>/<commit>/<path> from")
	flag.Parse()
	if err := run(*root, *fetch, *base); err != nil {
		fmt.Fprintf(os.Stderr, "addonsgen: %v\n", err)
		os.Exit(1)
	}
}

func run(root string, fetch bool, base string) error {
	dir := filepath.Join(root, "addons")
	manifestPath := filepath.Join(dir, "sources.json")
	data, err := os.ReadFile(manifestPath)
	if err != nil {
		return err
	}
	var m addons.Manifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%s: %w", manifestPath, err)
	}
	if fetch {
		// Download everything first: a failed download changes nothing.
		client := &http.Client{Timeout: time.Minute}
		bodies := make([][]byte, len(m.Sources))
		for i, s := range m.Sources {
			body, err := download(client, strings.TrimSuffix(base, "/")+"/"+s.Repo+"/"+s.Commit+"/"+s.Path)
			if err != nil {
				return fmt.Errorf("%s: %w", s.ID, err)
			}
			bodies[i] = body
		}
		for i, s := range m.Sources {
			path := filepath.Join(dir, s.Copy)
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, bodies[i], 0o644); err != nil {
				return err
			}
			m.Sources[i].SHA256 = addons.SHA256(bodies[i])
		}
	}
	// Written in one format (no HTML escapes: markers hold "<<EOF"), so a
	// -fetch diff shows only what changed.
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(m); err != nil {
		return err
	}
	if err := os.WriteFile(manifestPath, out.Bytes(), 0o644); err != nil {
		return err
	}
	read := func(s addons.Source) ([]byte, error) {
		body, err := os.ReadFile(filepath.Join(dir, s.Copy))
		if err != nil {
			return nil, err
		}
		if got := addons.SHA256(body); got != s.SHA256 {
			return nil, fmt.Errorf("%s: sha256 %s, but sources.json records %s: restore the copy, or refresh it from upstream with -fetch", s.Copy, got, s.SHA256)
		}
		return body, nil
	}
	for _, s := range m.Sources {
		if _, err := read(s); err != nil {
			return err
		}
	}
	for _, d := range m.Documents {
		doc, err := addons.BuildDocument(d, read, m)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "policies", d.File), doc, 0o644); err != nil {
			return err
		}
	}
	page := filepath.Join(root, "docs", "addons.md")
	text, err := os.ReadFile(page)
	if err != nil {
		return err
	}
	fresh, err := addons.ReplaceGenerated(string(text), addons.Markdown(m))
	if err != nil {
		return fmt.Errorf("%s: %w", page, err)
	}
	return os.WriteFile(page, []byte(fresh), 0o644)
}

func download(client *http.Client, url string) ([]byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(io.LimitReader(resp.Body, 8<<20))
}
