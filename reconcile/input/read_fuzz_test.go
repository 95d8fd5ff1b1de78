package input

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReadManifests: the reader never panics on any input, and whatever it
// accepts is a set of well-formed desired roles (named, with an ARN that ends
// in the name, unique by name, and a trust policy that names its subjects).
func FuzzReadManifests(f *testing.F) {
	seeds, _ := filepath.Glob("../../examples/*/expected.yaml")
	golden, _ := filepath.Glob("../../generator/testdata/golden/self-hosted-discovery/_expected.yaml")
	seeds = append(seeds, golden...)
	for _, s := range seeds {
		if data, err := os.ReadFile(s); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\n"))
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-x\n  labels: {iambind.dev/plan: role}\ndata:\n  role.json: '{}'\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ReadInputs([]string{"-"}, bytes.NewReader(data))
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range in.Roles {
			if r.Name == "" || r.ARN == "" || !bytes.HasSuffix([]byte(r.ARN), []byte("/"+r.Name)) {
				t.Fatalf("accepted a malformed role: name %q arn %q", r.Name, r.ARN)
			}
			if seen[r.Name] {
				t.Fatalf("role %q returned twice", r.Name)
			}
			seen[r.Name] = true
		}
		for _, d := range in.Discovery {
			if d.Bucket == "" || d.Issuer == "" || len(d.Config) == 0 || len(d.JWKS) == 0 || len(d.Audiences) == 0 {
				t.Fatalf("accepted a malformed discovery plan: %+v", d)
			}
		}
	})
}
