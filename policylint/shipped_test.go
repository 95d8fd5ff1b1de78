package policylint

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// TestShippedPoliciesLintClean: every inline policy of every IdentityBinding
// and rendered plan, and every Guardrails deniedActions glob, shipped in the repository (examples, deploy, docs, the
// README, the function's and generator's test inputs that are meant to
// pass) has no finding, so a refreshed catalogue that drops an action they
// use fails here, not in a user's render. Cases built to fail or warn
// (error-*, lint-*, bad/) are left out.
func TestShippedPoliciesLintClean(t *testing.T) {
	root := filepath.Join("..")
	var files []string
	for _, dir := range []string{"examples", "deploy", "docs", "fn/testdata", "generator/testdata/golden"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			name := d.Name()
			if d.IsDir() && (name == "bad" || strings.HasPrefix(name, "error-") || strings.HasPrefix(name, "lint-") || name == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && (strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml") || strings.HasSuffix(name, ".md")) {
				files = append(files, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	files = append(files, filepath.Join(root, "README.md"))
	documents := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, obj := range yamlObjects(f, data) {
			for _, glob := range deniedActions(obj) {
				documents++
				if sev, msg := ActionGlob(glob); sev != "" {
					t.Errorf("%s: %s deniedActions %s: %s %s", f, describe(obj), glob, sev, msg)
				}
			}
			for name, doc := range inlinePolicies(obj) {
				documents++
				for _, finding := range Document(doc) {
					t.Errorf("%s: %s inline policy %s: %s %s", f, describe(obj), name, finding.Severity, finding)
				}
			}
		}
	}
	t.Logf("%d inline policies and denied actions in %d files", documents, len(files))
	if documents < 20 {
		t.Errorf("only %d inline policies found: is the walk reading the files?", documents)
	}
}

// yamlObjects returns the YAML objects of a file: its documents, the items
// of a ResourceList, and in Markdown the documents of fenced yaml blocks.
func yamlObjects(file string, data []byte) []map[string]any {
	text := string(data)
	if strings.HasSuffix(file, ".md") {
		var blocks []string
		parts := strings.Split(text, "```")
		for i := 1; i < len(parts); i += 2 {
			if lang, body, ok := strings.Cut(parts[i], "\n"); ok && strings.HasPrefix(strings.TrimSpace(lang), "yaml") {
				blocks = append(blocks, body)
			}
		}
		text = strings.Join(blocks, "\n---\n")
	}
	var out []map[string]any
	for _, d := range strings.Split(text, "\n---") {
		var obj map[string]any
		if yaml.Unmarshal([]byte(d), &obj) != nil || obj == nil {
			continue
		}
		if items, ok := obj["items"].([]any); ok {
			for _, it := range items {
				if m, ok := it.(map[string]any); ok {
					out = append(out, m)
				}
			}
		}
		out = append(out, obj)
	}
	return out
}

// inlinePolicies are an IdentityBinding's spec.policies.inline documents
// (objects or JSON strings) or a plan ConfigMap's role.json inlinePolicies.
func inlinePolicies(obj map[string]any) map[string][]byte {
	out := map[string][]byte{}
	switch obj["kind"] {
	case "IdentityBinding":
		spec, _ := obj["spec"].(map[string]any)
		policies, _ := spec["policies"].(map[string]any)
		inline, _ := policies["inline"].(map[string]any)
		for name, v := range inline {
			if s, ok := v.(string); ok {
				out[name] = []byte(s)
			} else if b, err := json.Marshal(v); err == nil {
				out[name] = b
			}
		}
	case "ConfigMap":
		data, _ := obj["data"].(map[string]any)
		roleJSON, _ := data["role.json"].(string)
		var role struct {
			InlinePolicies map[string]json.RawMessage `json:"inlinePolicies"`
		}
		if json.Unmarshal([]byte(roleJSON), &role) == nil {
			for name, doc := range role.InlinePolicies {
				out[name] = doc
			}
		}
	}
	return out
}

// deniedActions are the parts of a Guardrails object's deniedActions.
func deniedActions(obj map[string]any) []string {
	if obj["kind"] != "Guardrails" {
		return nil
	}
	spec, _ := obj["spec"].(map[string]any)
	list, _ := spec["deniedActions"].([]any)
	var out []string
	for _, v := range list {
		if s, ok := v.(string); ok {
			out = append(out, strings.Split(s, "+")...)
		}
	}
	return out
}

func describe(obj map[string]any) string {
	meta, _ := obj["metadata"].(map[string]any)
	kind, _ := obj["kind"].(string)
	ns, _ := meta["namespace"].(string)
	name, _ := meta["name"].(string)
	return kind + " " + ns + "/" + name
}
