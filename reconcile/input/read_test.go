package input

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadRenderedOutput(t *testing.T) {
	out := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"), bindingYAML("shop", "payments"))
	in := readString(t, out)
	if len(in.Roles) != 2 || in.Roles[0].Name != "shop-orders" || in.Roles[1].Name != "shop-payments" {
		t.Fatalf("roles: %+v", in.Roles)
	}
	if len(in.ServiceAccounts) != 2 {
		t.Fatalf("service accounts: %+v", in.ServiceAccounts)
	}
	if got := in.Owners(); len(got) != 1 || got[0] != "prod" {
		t.Fatalf("owners %v", got)
	}
	if !strings.Contains(in.Roles[0].Source, "ConfigMap shop/iambind-orders") {
		t.Errorf("source %q", in.Roles[0].Source)
	}
}

func TestReadResourceListAndDirectories(t *testing.T) {
	out := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"))
	list := "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "---" {
			continue
		}
		if strings.HasPrefix(line, "apiVersion:") {
			list += "- " + line + "\n"
		} else {
			list += "  " + line + "\n"
		}
	}
	if in := readString(t, list); len(in.Roles) != 1 {
		t.Fatalf("ResourceList: %d roles", len(in.Roles))
	}

	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	must(t, os.MkdirAll(sub, 0o755))
	must(t, os.WriteFile(filepath.Join(sub, "plan.yaml"), []byte(out), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "list.yml"), []byte(list), 0o644)) // the same role again: deduplicated
	must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not: [yaml"), 0o644))
	in, err := ReadInputs([]string{dir}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Roles) != 1 {
		t.Fatalf("directory: %d roles", len(in.Roles))
	}
}

func TestReadIgnoresWhatIsNotAPlan(t *testing.T) {
	in := readString(t, `apiVersion: v1
kind: ConfigMap
metadata:
  name: iambind-x
  labels: {iambind.dev/plan: other}
data:
  role.json: "not json"
---
apiVersion: v1
kind: ConfigMap
metadata: {name: plain}
data: {a: b}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: d}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: no-annotation}
`)
	if len(in.Roles) != 0 || len(in.ServiceAccounts) != 0 {
		t.Fatalf("got %+v", in)
	}
}

func TestReadErrors(t *testing.T) {
	good := render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"))
	tests := []struct {
		name  string
		input string
		want  []string
	}{
		{name: "bad role.json", input: strings.Replace(good, `"name": "shop-orders"`, `"name": `, 1),
			want: []string{"ConfigMap shop/iambind-orders", "role.json"}},
		{name: "unknown field in role.json", input: strings.Replace(good, `"name": "shop-orders"`, `"nam": "shop-orders"`, 1),
			want: []string{"ConfigMap shop/iambind-orders", "role.json", "unknown field"}},
		{name: "tampered trust-policy.json", input: tamperTrustFile(good),
			want: []string{"ConfigMap shop/iambind-orders", "trust-policy.json differs from trustPolicy"}},
		{name: "same role planned twice differently",
			input: good + "---\n" + strings.Replace(strings.Replace(good, "name: iambind-orders", "name: iambind-orders-copy", 1), "Managed by iambind", "Changed", 1),
			want:  []string{"role shop-orders is planned twice with different role.json"}},
		{name: "malformed yaml", input: "a: [", want: []string{"<stdin>"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadInputs([]string{"-"}, strings.NewReader(tc.input))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := ReadInputs(nil, nil); err == nil {
		t.Error("no paths must be an error")
	}
	if _, err := ReadInputs([]string{"/does/not/exist"}, nil); err == nil {
		t.Error("missing path must be an error")
	}
}

// tamperTrustFile edits the subject in trust-policy.json only.
func tamperTrustFile(s string) string {
	i := strings.Index(s, "trust-policy.json:")
	return s[:i] + strings.Replace(s[i:], "system:serviceaccount:shop:orders", "system:serviceaccount:evil:orders", 1)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
