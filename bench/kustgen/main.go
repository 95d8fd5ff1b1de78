// Command kustgen writes the synthetic input of bench/synth as a kustomization
// directory, for timing `kustomize build` (scripts/bench-kustomize.sh):
//
//	kustgen -n 2000 -exec /abs/path/fn -dir DIR            one kustomization, the function its transformer
//	kustgen -n 2000 -dir DIR                               no function: kustomize alone
//	kustgen -n 2000 -exec /abs/path/fn -per-team -dir DIR  one kustomization per namespace, each with
//	                                                       the transformer, under one that lists them
//
// The IdentityCluster is the transformer's config (examples/kustomize-transformer);
// without -exec it is a plain local-config resource, so every layout holds the same objects.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/iambind/iambind/bench/synth"
)

func main() {
	n := flag.Int("n", 2000, "number of resources (a multiple of 10; one in ten is an IdentityBinding)")
	dir := flag.String("dir", "", "directory to write (created; must not exist)")
	execPath := flag.String("exec", "", "absolute path of the exec function (none: kustomize alone)")
	perTeam := flag.Bool("per-team", false, "one kustomization per namespace, each running the function")
	flag.Parse()
	if err := write(*dir, *n, *execPath, *perTeam); err != nil {
		fmt.Fprintln(os.Stderr, "kustgen:", err)
		os.Exit(1)
	}
}

var namespaceLine = regexp.MustCompile(`(?m)^  namespace: (\S+)$`)

func write(dir string, n int, execPath string, perTeam bool) error {
	if dir == "" {
		return fmt.Errorf("-dir is required")
	}
	if execPath != "" && !filepath.IsAbs(execPath) {
		return fmt.Errorf("-exec %q must be absolute (kustomize resolves it against each kustomization)", execPath)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	var cluster string
	byTeam := map[string][]string{}
	for _, doc := range synth.Documents(synth.ResourceList(n)) {
		if strings.Contains(doc, "\nkind: IdentityCluster\n") {
			cluster = doc
			continue
		}
		team := "all"
		if perTeam {
			m := namespaceLine.FindStringSubmatch(doc)
			if m == nil {
				return fmt.Errorf("a synthetic resource has no namespace:\n%s", doc)
			}
			team = m[1]
		}
		byTeam[team] = append(byTeam[team], doc)
	}
	if execPath != "" {
		cluster = strings.Replace(cluster, "  annotations:\n",
			"  annotations:\n    config.kubernetes.io/function: |\n      exec:\n        path: "+execPath+"\n", 1)
	}
	teams := make([]string, 0, len(byTeam))
	for t := range byTeam {
		teams = append(teams, t)
	}
	sort.Strings(teams)
	if !perTeam {
		return writeKustomization(dir, byTeam["all"], cluster, execPath != "")
	}
	var top bytes.Buffer
	top.WriteString("resources:\n")
	for _, t := range teams {
		if err := os.Mkdir(filepath.Join(dir, t), 0o755); err != nil {
			return err
		}
		if err := writeKustomization(filepath.Join(dir, t), byTeam[t], cluster, execPath != ""); err != nil {
			return err
		}
		fmt.Fprintf(&top, "  - %s\n", t)
	}
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), top.Bytes(), 0o644)
}

// writeKustomization writes docs as resources.yaml and the cluster either as
// the function's config (transformers:) or as one more resource.
func writeKustomization(dir string, docs []string, cluster string, asTransformer bool) error {
	k := "resources:\n  - resources.yaml\n"
	if asTransformer {
		k += "transformers:\n  - cluster.yaml\n"
		if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(cluster), 0o644); err != nil {
			return err
		}
	} else {
		docs = append([]string{cluster}, docs...)
		// Also alone, unlisted, for the pipe form of the same build:
		// `kustomize build DIR | iambind-fn --cluster DIR/cluster.yaml`
		// (kustomize drops the listed copy, a local-config resource).
		if err := os.WriteFile(filepath.Join(dir, "cluster.yaml"), []byte(cluster), 0o644); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "resources.yaml"), []byte(strings.Join(docs, "---\n")), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(k), 0o644)
}
