// Package migrate moves IdentityBindings from IRSA to EKS Pod Identity
// through mode both, in the order that keeps pods' credentials working
// (`iambind migrate`): it prints the edits as diffs, or makes the next one.
package migrate

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/manifests"
	"github.com/iambind/iambind/internal/yamlnode"
	"github.com/iambind/iambind/reconcile/change"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// `iambind migrate` moves bindings from IRSA to EKS Pod Identity through
// mode both, printing the exact edits of the binding files as unified diffs
// (docs/pod-identity.md explains the order). It edits lines, not a
// re-encoded document, so comments and layout stay as the user wrote them.

// migrateFile is one source file and the iambind objects in it.
type migrateFile struct {
	path     string
	text     string
	bindings []*migrateBinding
	clusters []*migrateCluster
}

type migrateBinding struct {
	ref      string // IdentityBinding <ns>/<name>
	mode     string
	clusters []string
	spec     *yaml.Node
	wildcard string // a wildcard subject, which Pod Identity cannot have
}

type migrateCluster struct {
	name, region, issuer, eksName string
	spec                          *yaml.Node
	file                          *migrateFile
}

// eksIssuerRegion reads the region out of an EKS OIDC issuer URL.
var eksIssuerRegion = regexp.MustCompile(`^https://oidc\.eks\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?/`)

// Run prints the migration steps of the bindings in paths, or with write
// makes the next step's edit in place.
func Run(paths []string, eksNames map[string]string, write bool, stdout io.Writer) error {
	if len(paths) == 0 {
		return errors.New("no input: give -f FILE or -f DIR with the IdentityBindings and IdentityClusters (the sources, not the rendered output)")
	}
	var files []*migrateFile
	clusters := map[string]*migrateCluster{}
	for _, p := range paths {
		if p == "-" {
			return errors.New("migrate edits files: give -f FILE or -f DIR, not stdin")
		}
		names, err := manifests.Files(p)
		if err != nil {
			return err
		}
		for _, name := range names {
			f, err := readMigrateFile(name)
			if err != nil {
				return err
			}
			for _, c := range f.clusters {
				clusters[c.name] = c
			}
			files = append(files, f)
		}
	}

	// Plan the edits of both steps, checking first that the bindings can go.
	var problems []string
	step1, step2 := map[*migrateFile][]lineEdit{}, map[*migrateFile][]lineEdit{}
	clusterDone := map[string]bool{}
	todo := 0
	for _, f := range files {
		for _, b := range f.bindings {
			if b.mode == generator.ModePodIdentity {
				continue
			}
			todo++
			if b.wildcard != "" {
				problems = append(problems, fmt.Sprintf("%s: IdentityBinding %s has the wildcard subject %q: EKS Pod Identity associates exact ServiceAccounts, so list them first", f.path, b.ref, b.wildcard))
				continue
			}
			used := b.clusters
			if len(used) == 0 {
				if len(clusters) != 1 {
					problems = append(problems, fmt.Sprintf("%s: IdentityBinding %s names no spec.clusters and %d IdentityClusters are in the input: give exactly its cluster's file", f.path, b.ref, len(clusters)))
					continue
				}
				for name := range clusters {
					used = []string{name}
				}
			}
			for _, name := range used {
				c, ok := clusters[name]
				if !ok {
					problems = append(problems, fmt.Sprintf("%s: IdentityBinding %s uses IdentityCluster %q, which is not in the input: add its file with -f", f.path, b.ref, name))
					continue
				}
				if clusterDone[name] {
					continue
				}
				clusterDone[name] = true
				edits, msg := clusterEdits(c, eksNames[name])
				if msg != "" {
					problems = append(problems, msg)
				}
				step1[c.file] = append(step1[c.file], edits...)
			}
			if b.mode != generator.ModeBoth {
				step1[f] = append(step1[f], specEdit(b.spec, "mode", generator.ModeBoth))
			}
			step2[f] = append(step2[f], specEdit(b.spec, "mode", generator.ModePodIdentity))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("cannot migrate, nothing was changed:\n  %s", strings.Join(problems, "\n  "))
	}
	if todo == 0 {
		fmt.Fprintln(stdout, "# nothing to migrate: every IdentityBinding is already in mode podIdentity")
		return nil
	}

	after1 := map[*migrateFile]string{}
	for _, f := range files {
		text, err := applyLineEdits(f.text, step1[f])
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		after1[f] = text
	}
	after2 := map[*migrateFile]string{}
	for _, f := range files {
		// Step 2 edits lines that step 1 may have shifted: re-read the file.
		g, err := parseMigrateText(f.path, after1[f])
		if err != nil {
			return err
		}
		var edits []lineEdit
		for _, b := range g.bindings {
			if b.mode != generator.ModePodIdentity {
				edits = append(edits, specEdit(b.spec, "mode", generator.ModePodIdentity))
			}
		}
		text, err := applyLineEdits(after1[f], edits)
		if err != nil {
			return fmt.Errorf("%s: %w", f.path, err)
		}
		after2[f] = text
	}

	var out bytes.Buffer
	step1Diff := filesDiff(files, func(f *migrateFile) string { return f.text }, func(f *migrateFile) string { return after1[f] })
	step2Diff := filesDiff(files, func(f *migrateFile) string { return after1[f] }, func(f *migrateFile) string { return after2[f] })
	if step1Diff != "" {
		out.WriteString(step1Header)
		out.WriteString(step1Diff)
	}
	out.WriteString(step2Header)
	if step1Diff != "" {
		out.WriteString("# (this diff applies on top of step 1)\n")
	}
	out.WriteString(step2Diff)
	if write {
		next := after2
		if step1Diff != "" {
			next = after1
		}
		for _, f := range files {
			if next[f] != f.text {
				if err := os.WriteFile(f.path, []byte(next[f]), 0o644); err != nil {
					return err
				}
			}
		}
		step := "2 (mode podIdentity)"
		if step1Diff != "" {
			step = "1 (mode both)"
		}
		fmt.Fprintf(&out, "# wrote step %s into the files; run iambind migrate again for the next step\n", step)
	}
	_, err := stdout.Write(out.Bytes())
	return err
}

const step1Header = `# Step 1 of 2: mode both. Each role trusts IRSA and EKS Pod Identity; the
# ServiceAccounts keep their eks.amazonaws.com/role-arn annotation.
#   1. make this change, render, and review: the plan only adds (a Pod Identity
#      trust statement, the Pod Identity associations); no IRSA trust is removed
#   2. iambind apply  (IAM first, then the associations, which need the roles)
#   3. deploy the rendered manifests as usual
# Pods keep using IRSA: the AWS SDKs take web identity (AWS_WEB_IDENTITY_TOKEN_FILE)
# before container credentials (Pod Identity) in their default chains.
`

const step2Header = `# Step 2 of 2: mode podIdentity, once step 1 is applied. The role-arn
# annotation goes and, last, the IRSA trust.
#   1. make this change and render
#   2. deploy the rendered manifests, then restart the workloads (kubectl rollout
#      restart): new pods get only the Pod Identity environment
#   3. only then iambind apply: it removes the IRSA trust (it refuses while any
#      association is missing); running an old pod past this point would leave it
#      without credentials at its next refresh, so keep this order even where the
#      reconcile Job normally runs before the workloads
`

func readMigrateFile(path string) (*migrateFile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseMigrateText(path, string(data))
}

func parseMigrateText(path, text string) (*migrateFile, error) {
	f := &migrateFile{path: path, text: text}
	dec := yaml.NewDecoder(strings.NewReader(text))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
			continue
		}
		obj := doc.Content[0]
		if migrateScalar(obj, "apiVersion") != generator.APIVersion {
			continue
		}
		meta := yamlnode.Get(obj, "metadata")
		name, ns := migrateScalar(meta, "name"), migrateScalar(meta, "namespace")
		spec := yamlnode.Get(obj, "spec")
		if spec == nil || spec.Kind != yaml.MappingNode || spec.Style&yaml.FlowStyle != 0 || len(spec.Content) == 0 {
			return nil, fmt.Errorf("%s: line %d: %s %s: migrate edits a block-style, non-empty spec; edit this one by hand", path, obj.Line, migrateScalar(obj, "kind"), name)
		}
		switch migrateScalar(obj, "kind") {
		case generator.KindBinding:
			if ns == "" {
				ns = "default"
			}
			b := &migrateBinding{ref: ns + "/" + name, mode: migrateScalar(spec, "mode"), spec: spec}
			if b.mode == "" {
				b.mode = generator.ModeIRSA
			}
			if cl := yamlnode.Get(spec, "clusters"); cl != nil {
				for _, c := range cl.Content {
					b.clusters = append(b.clusters, c.Value)
				}
			}
			if sas := yamlnode.Get(spec, "serviceAccounts"); sas != nil {
				for _, sa := range sas.Content {
					if n := migrateScalar(sa, "name") + migrateScalar(sa, "namespace"); generator.IsWildcard(n) {
						b.wildcard = migrateScalar(sa, "name")
					}
				}
			}
			f.bindings = append(f.bindings, b)
		case generator.KindCluster:
			f.clusters = append(f.clusters, &migrateCluster{name: name, region: migrateScalar(spec, "region"), issuer: migrateScalar(spec, "issuer"),
				eksName: migrateScalar(spec, "eksClusterName"), spec: spec, file: f})
		}
	}
	return f, nil
}

// clusterEdits adds what mode both needs to an IdentityCluster: its EKS
// name and region (read from an EKS issuer URL when absent).
func clusterEdits(c *migrateCluster, eksName string) ([]lineEdit, string) {
	var edits []lineEdit
	if c.eksName == "" {
		if eksName == "" {
			return nil, fmt.Sprintf("%s: IdentityCluster %s has no spec.eksClusterName: pass --eks-cluster-name %s=<the EKS cluster's name>", c.file.path, c.name, c.name)
		}
		edits = append(edits, specEdit(c.spec, "eksClusterName", eksName))
	}
	if c.region == "" {
		m := eksIssuerRegion.FindStringSubmatch(c.issuer)
		if m == nil {
			return nil, fmt.Sprintf("%s: IdentityCluster %s has no spec.region and its issuer is not an EKS one to read it from: set spec.region", c.file.path, c.name)
		}
		edits = append(edits, specEdit(c.spec, "region", m[1]))
	}
	return edits, ""
}

func migrateScalar(m *yaml.Node, key string) string {
	if n := yamlnode.Get(m, key); n != nil && n.Kind == yaml.ScalarNode {
		return n.Value
	}
	return ""
}

// lineEdit sets key: value in a block mapping: it replaces the line of an
// existing key, or inserts a line before the mapping's first key.
type lineEdit struct {
	line    int  // 1-based
	replace bool // replace that line; else insert before it
	text    string
}

func specEdit(spec *yaml.Node, key, value string) lineEdit {
	first := spec.Content[0]
	indent := strings.Repeat(" ", first.Column-1)
	for i := 0; i+1 < len(spec.Content); i += 2 {
		k, v := spec.Content[i], spec.Content[i+1]
		if k.Value == key && k.Line == v.Line && v.Kind == yaml.ScalarNode {
			text := indent + key + ": " + value
			if v.LineComment != "" {
				text += " " + v.LineComment
			}
			return lineEdit{line: k.Line, replace: true, text: text}
		}
	}
	return lineEdit{line: first.Line, text: indent + key + ": " + value}
}

func applyLineEdits(text string, edits []lineEdit) (string, error) {
	if len(edits) == 0 {
		return text, nil
	}
	lines := strings.SplitAfter(text, "\n")
	slices.SortStableFunc(edits, func(a, b lineEdit) int { return b.line - a.line }) // bottom up: line numbers stay valid
	for _, e := range edits {
		if e.line < 1 || e.line > len(lines) {
			return "", fmt.Errorf("internal: edit at line %d of %d", e.line, len(lines))
		}
		if e.replace {
			lines[e.line-1] = e.text + "\n"
		} else {
			lines = slices.Insert(lines, e.line-1, e.text+"\n")
		}
	}
	return strings.Join(lines, ""), nil
}

// filesDiff is the unified diff of every file whose text changes.
func filesDiff(files []*migrateFile, before, after func(*migrateFile) string) string {
	var sb strings.Builder
	for _, f := range files {
		if b, a := before(f), after(f); a != b {
			sb.WriteString(unifiedDiff(f.path, b, a))
		}
	}
	return sb.String()
}

// unifiedDiff is a unified diff (3 lines of context) of two texts, from a
// longest common subsequence of their lines.
func unifiedDiff(path, before, after string) string {
	a, b := strings.Split(strings.TrimSuffix(before, "\n"), "\n"), strings.Split(strings.TrimSuffix(after, "\n"), "\n")
	ops := change.Lines(a, b, false) // removals first, as diff(1) prints them
	const context = 3
	var sb strings.Builder
	fmt.Fprintf(&sb, "--- %s\n+++ %s\n", path, path) // patch -p0
	for k := 0; k < len(ops); {
		if ops[k].Op == ' ' {
			k++
			continue
		}
		start := max(0, k-context)
		end := k
		// Extend the hunk while changes are within 2*context lines of each other.
		for end < len(ops) {
			if ops[end].Op != ' ' {
				end++
				continue
			}
			run := end
			for run < len(ops) && ops[run].Op == ' ' {
				run++
			}
			if run == len(ops) || run-end > 2*context {
				end = min(end+context, len(ops))
				break
			}
			end = run
		}
		var na, nb int
		for _, o := range ops[start:end] {
			if o.Op != '+' {
				na++
			}
			if o.Op != '-' {
				nb++
			}
		}
		fmt.Fprintf(&sb, "@@ -%d,%d +%d,%d @@\n", ops[start].A+1, na, ops[start].B+1, nb)
		for _, o := range ops[start:end] {
			sb.WriteByte(o.Op)
			sb.WriteString(o.Text)
			sb.WriteByte('\n')
		}
		k = end
	}
	return sb.String()
}
