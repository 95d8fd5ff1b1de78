// Command clidocs turns a rendered iambind plan into the inputs of the
// `aws iam` CLI loop of scripts/bench-reconcile.sh (the manual flow users
// run today): for each planned role, its trust policy, tags and inline
// policies as JSON files, and one line of roles.tsv:
//
//	name  path  description  maxSessionDuration  trust-file  tags-file  managed-ARNs(space-separated)  inline(name=file, space-separated)
//
// and one line of providers.tsv per OIDC provider: url  client-IDs(space-separated).
// Documents are exactly what `iambind apply` sends (the same reader and
// encoder), so both flows build the same IAM state.
//
// Usage: clidocs -f plan.yaml -dir DIR
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	riam "github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/input"
)

func main() {
	file := flag.String("f", "", "rendered plan (file, directory or - for stdin)")
	dir := flag.String("dir", "", "output directory")
	flag.Parse()
	if *file == "" || *dir == "" {
		fmt.Fprintln(os.Stderr, "usage: clidocs -f PLAN -dir DIR")
		os.Exit(2)
	}
	if err := run(*file, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "clidocs:", err)
		os.Exit(1)
	}
}

func run(file, dir string) error {
	in, err := input.ReadInputs([]string{file}, os.Stdin)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	write := func(name string, data []byte) (string, error) {
		p := filepath.Join(dir, name)
		return p, os.WriteFile(p, data, 0o644)
	}
	var roles, providers strings.Builder
	seen := map[string]bool{}
	for i, r := range in.Roles {
		for _, f := range []string{r.Name, r.Path, r.Description} {
			if strings.ContainsAny(f, "\t\n") {
				return fmt.Errorf("role %s: a field holds a tab or newline", r.Name)
			}
		}
		trust, err := write(fmt.Sprintf("%04d-trust.json", i), []byte(riam.TrustDocument(&r.Role)))
		if err != nil {
			return err
		}
		keys := make([]string, 0, len(r.Tags))
		for k := range r.Tags {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		type tag struct{ Key, Value string }
		tags := make([]tag, 0, len(keys))
		for _, k := range keys {
			tags = append(tags, tag{k, r.Tags[k]})
		}
		tj, _ := json.Marshal(tags)
		tagsFile, err := write(fmt.Sprintf("%04d-tags.json", i), tj)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(r.InlinePolicies))
		for n := range r.InlinePolicies {
			names = append(names, n)
		}
		sort.Strings(names)
		var inline []string
		for j, n := range names {
			p, err := write(fmt.Sprintf("%04d-inline-%d.json", i, j), r.InlinePolicies[n])
			if err != nil {
				return err
			}
			inline = append(inline, n+"="+p)
		}
		fmt.Fprintf(&roles, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", r.Name, r.Path, r.Description, r.MaxSessionDuration,
			trust, tagsFile, strings.Join(r.ManagedPolicyARNs, " "), strings.Join(inline, " "))
		for _, p := range r.OIDCProviders {
			if !seen[p.URL] {
				seen[p.URL] = true
				fmt.Fprintf(&providers, "%s\t%s\n", p.URL, strings.Join(p.Audiences, " "))
			}
		}
	}
	if _, err := write("roles.tsv", []byte(roles.String())); err != nil {
		return err
	}
	_, err = write("providers.tsv", []byte(providers.String()))
	return err
}
