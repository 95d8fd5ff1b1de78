package importer

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/iambind/iambind/generator"
)

// File names in DIR.
const (
	ClustersFile      = "clusters.yaml"
	KustomizationFile = "kustomization.yaml"
	SkippedFile       = "skipped.yaml"
)

// checkOut refuses a DIR that holds anything unless force.
func checkOut(out string, force bool) error {
	info, err := os.Stat(out)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("--out %s exists and is not a directory", out)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, err)
	}
	if len(entries) > 0 && !force {
		return fmt.Errorf("--out %s is not empty: refusing to overwrite it (give --force to replace its contents)", out)
	}
	return nil
}

// renderFiles lays out DIR: a file per binding under <namespace>/, the
// clusters, the kustomization, and the skipped roles as comments. Every
// file is sorted and byte-stable.
func renderFiles(rep *Report, used map[string]bool, fnPath string) (map[string][]byte, error) {
	files := map[string][]byte{}
	sort.Slice(rep.Roles, func(i, j int) bool { return rep.Roles[i].Role < rep.Roles[j].Role })
	var resources []string
	for i := range rep.Roles {
		r := &rep.Roles[i]
		if r.binding == nil {
			continue
		}
		b := r.binding
		file := filepath.ToSlash(filepath.Join(b.Metadata.Namespace, b.Metadata.Name+".yaml"))
		r.File = file
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "# Imported by iambind import from IAM role %s (%s", r.ARN, r.Class)
		if r.Reason != "" {
			fmt.Fprintf(&buf, ": %s", oneLine(r.Reason))
		}
		fmt.Fprintf(&buf, ").\n# Read from: %s\n", oneLine(strings.Join(r.Objects, ", ")))
		buf.WriteString(bindingYAML(b))
		files[file] = buf.Bytes()
		resources = append(resources, file)
	}
	if fnPath == "" {
		fnPath = "iambind-fn"
	}
	var clusters bytes.Buffer
	var first *generator.IdentityCluster
	for _, c := range rep.clusters {
		if !used[c.Metadata.Name] {
			continue
		}
		if first != nil {
			clusters.WriteString("---\n")
		} else {
			first = c
		}
		clusters.WriteString(clusterYAML(c))
	}
	var kust bytes.Buffer
	kust.WriteString("# Written by iambind import. Render with:\n#   kustomize build --enable-alpha-plugins --enable-exec <this directory>\n")
	kust.WriteString("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n")
	if first != nil {
		files[ClustersFile] = clusters.Bytes()
		kust.WriteString("resources:\n- " + ClustersFile + "\n")
		slices.Sort(resources)
		for _, r := range resources {
			fmt.Fprintf(&kust, "- %s\n", r)
		}
		// iambind-fn runs once per build: one cluster is its function
		// config (inline, so DIR holds no second copy); it reads the others
		// among the resources.
		fc := *first
		fc.Metadata.Annotations = map[string]string{"config.kubernetes.io/function": "exec:\n  path: " + fnPath + "\n"}
		kust.WriteString("transformers:\n- |-\n")
		for _, line := range strings.Split(strings.TrimRight(clusterYAML(&fc), "\n"), "\n") {
			kust.WriteString("  " + line + "\n")
		}
	}
	files[KustomizationFile] = kust.Bytes()

	var skipped bytes.Buffer
	for _, r := range rep.Roles {
		if r.Class != ClassSkipped {
			continue
		}
		fmt.Fprintf(&skipped, "# Role %s: skipped: %s\n", oneLine(r.Role), oneLine(r.Reason))
		fmt.Fprintf(&skipped, "#   read from: %s\n", oneLine(strings.Join(r.Objects, ", ")))
		if r.Closest != "" {
			skipped.WriteString("#   closest binding (not applied; it would change the role):\n")
			for _, line := range strings.Split(strings.TrimRight(r.Closest, "\n"), "\n") {
				fmt.Fprintf(&skipped, "#     %s\n", oneLine(line))
			}
		}
	}
	if skipped.Len() > 0 {
		files[SkippedFile] = append([]byte("# Roles iambind import did not emit, with the reason. Comments only.\n"), skipped.Bytes()...)
	}
	return files, nil
}

// writeOut writes the files to a temporary directory beside out, then
// puts it in out's place: a failed import leaves out as it was.
func writeOut(out string, force bool, files map[string][]byte) error {
	parent := filepath.Dir(filepath.Clean(out))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(parent, ".iambind-import-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return err
	}
	if _, err := os.Stat(out); err == nil {
		if err := checkOut(out, force); err != nil { // changed since the start
			return err
		}
		old := tmp + ".old"
		if err := os.Rename(out, old); err != nil {
			return fmt.Errorf("replacing %s: %w", out, err)
		}
		defer os.RemoveAll(old)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("writing %s: %w", out, err)
	}
	return nil
}

// nodeRoleFinding reports a kiam/kube2iam annotation with the binding its
// workload would need: those roles trust the node role, not a ServiceAccount.
func nodeRoleFinding(n NodeRoleRef) Finding {
	f := Finding{Object: n.Object, Source: SourceNodeRole, Role: n.Role, Problem: "node-role"}
	role := n.Role
	if a, err := ParseRoleARN(role); err == nil {
		role = a.Name
	}
	if n.ServiceAccount.Name == "" {
		f.Message = fmt.Sprintf("namespace default role %s (kiam/kube2iam) is assumed through the node role; each workload needs an IdentityBinding for its ServiceAccount and the role's trust moved to the cluster's OIDC provider", n.Role)
		return f
	}
	f.Message = fmt.Sprintf("assumes %s through the node role (kiam/kube2iam); to move it to IRSA, bind its ServiceAccount %s and let iambind replace the role's trust", n.Role, n.ServiceAccount)
	b := generator.IdentityBinding{APIVersion: generator.APIVersion, Kind: generator.KindBinding,
		Metadata: generator.ObjectMeta{Name: bindingName(n.ServiceAccount.Namespace, n.ServiceAccount.Name, map[string]bool{}), Namespace: n.ServiceAccount.Namespace},
		Spec: generator.IdentityBindingSpec{ServiceAccounts: []generator.ServiceAccount{{Name: n.ServiceAccount.Name}},
			Role: generator.RoleSpec{Name: role}}}
	f.Binding = bindingYAML(&b)
	return f
}

// oneLine keeps text that came from IAM or manifests inside its comment
// line: a line break in it must not start YAML of its own.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\u2028", " ", "\u2029", " ").Replace(s)
}
