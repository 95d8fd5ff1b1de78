package addons

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator/managedpolicies"
)

// TestEmbeddedPoliciesMatchSources is the offline pin: every upstream copy
// still has the sha256 recorded when it was fetched, and every embedded
// document is exactly what its copy yields. It fails when someone edits an
// embedded policy, or a copy, by hand; `go generate ./addons` rebuilds the
// documents from the copies.
func TestEmbeddedPoliciesMatchSources(t *testing.T) {
	m, err := LoadManifest()
	if err != nil {
		t.Fatal(err)
	}
	onDisk, err := os.ReadFile("sources.json")
	if err != nil {
		t.Fatal(err)
	}
	if string(onDisk) != string(manifestJSON) {
		t.Fatal("sources.json differs from the embedded copy: rebuild")
	}
	read := func(s Source) ([]byte, error) { return os.ReadFile(s.Copy) }
	for _, s := range m.Sources {
		data, err := read(s)
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		if got := SHA256(data); got != s.SHA256 {
			t.Errorf("%s: %s has sha256 %s, sources.json records %s", s.ID, s.Copy, got, s.SHA256)
		}
		if len(s.Commit) != 40 || !strings.HasPrefix(s.Copy, "sources/") {
			t.Errorf("%s: commit %q / copy %q: pin a full commit and keep the copy under sources/", s.ID, s.Commit, s.Copy)
		}
	}
	files := map[string]bool{}
	for _, d := range m.Documents {
		files[d.File] = true
		want, err := BuildDocument(d, read, m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := policyFiles.ReadFile("policies/" + d.File)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("policies/%s differs from what its sources yield: run go generate ./addons, never edit it by hand", d.File)
		}
	}
	embedded, _ := policyFiles.ReadDir("policies")
	for _, e := range embedded {
		if !files[e.Name()] {
			t.Errorf("policies/%s is not built from any source in sources.json", e.Name())
		}
	}
}

// TestDocsTable keeps docs/addons.md's generated part current.
func TestDocsTable(t *testing.T) {
	m, err := LoadManifest()
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join("..", "docs", "addons.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), Markdown(m)) {
		t.Error("docs/addons.md is stale: run go generate ./addons")
	}
}

func TestManagedNamesAreKnown(t *testing.T) {
	for _, a := range catalogue {
		for _, family := range []string{"", "ipv4", "ipv6"} {
			for _, name := range a.managed(Request{IPFamily: family}) {
				if !managedpolicies.Known(name) {
					t.Errorf("%s: %s is not an AWS managed policy (%s)", a.name, name, managedpolicies.Source())
				}
			}
		}
		for _, id := range a.sources {
			if m, _ := LoadManifest(); !slices.ContainsFunc(m.Sources, func(s Source) bool { return s.ID == id }) {
				t.Errorf("%s: source %q not in sources.json", a.name, id)
			}
		}
	}
}

// validRequest gives each name the parameters it needs.
func validRequest(name, partition string) Request {
	r := Request{Name: name}
	switch name {
	case "externalDNS", "certManager":
		r.HostedZoneARNs = []string{"arn:" + partition + ":route53:::hostedzone/Z0123456789ABCDEFGHIJ"}
	case "clusterAutoscaler", "karpenter":
		r.ClusterName = "prod-usw2"
	case "externalSecrets":
		r.SecretARNs = []string{"arn:" + partition + ":secretsmanager:us-west-2:111122223333:secret:shop/*"}
		r.ParameterARNs = []string{"arn:" + partition + ":ssm:us-west-2:111122223333:parameter/shop/*"}
	case "velero", "mountpointS3CSI":
		r.BucketARNs = []string{"arn:" + partition + ":s3:::orders-backups"}
	}
	return r
}

// TestRenderEveryName renders every name in every partition: no
// placeholder is left, every ARN is in the cluster's partition, and the
// scoping values reach the document.
func TestRenderEveryName(t *testing.T) {
	for _, partition := range []string{"aws", "aws-cn", "aws-us-gov"} {
		for _, name := range Names() {
			r := validRequest(name, partition)
			out, problems := Render(r, Context{Partition: partition, AccountID: "111122223333", Region: "us-west-2"})
			if len(problems) > 0 {
				t.Errorf("%s/%s: %v", partition, name, problems)
				continue
			}
			if len(out.Managed) == 0 && out.Inline == nil {
				t.Errorf("%s/%s: renders nothing", partition, name)
			}
			text := string(out.Inline)
			for _, arn := range strings.Split(text, "\"arn:")[1:] {
				if !strings.HasPrefix(arn, partition+":") {
					t.Errorf("%s/%s: ARN arn:%s is not in the partition", partition, name, arn[:min(len(arn), 40)])
				}
			}
			for _, v := range slices.Concat(r.HostedZoneARNs, r.SecretARNs, r.ParameterARNs, r.BucketARNs) {
				if !strings.Contains(text, `"`+v+`"`) {
					t.Errorf("%s/%s: %s missing from %s", partition, name, v, text)
				}
			}
			if r.ClusterName != "" && !strings.Contains(text, r.ClusterName) {
				t.Errorf("%s/%s: cluster name missing", partition, name)
			}
			if out.Inline != nil {
				var doc map[string]any
				if err := json.Unmarshal(out.Inline, &doc); err != nil || doc["Version"] != "2012-10-17" || out.InlineName != "wellKnown-"+name {
					t.Errorf("%s/%s: %v %v %s", partition, name, err, doc["Version"], out.InlineName)
				}
			}
		}
	}
}

func TestExtractObject(t *testing.T) {
	text := "intro {not this}\n## Policy\nname: !Sub \"x-${Name}\"\n  {\n  \"a\": \"}{\\\"\",\n  \"b\": {\"c\": 1}\n  }\ntrailer }"
	got, err := extractObject(text, "## Policy\n")
	want := "{\n  \"a\": \"}{\\\"\",\n  \"b\": {\"c\": 1}\n  }"
	if err != nil || got != want {
		t.Fatalf("extractObject = %q, %v; want %q", got, err, want)
	}
	if _, err := extractObject(text, "## Missing"); err == nil {
		t.Error("a missing marker must be an error")
	}
	if _, err := extractObject("x\n{\"a\": 1", "x"); err == nil {
		t.Error("an unbalanced object must be an error")
	}
}

// FuzzRender: whatever the entry, Render never panics, and what it accepts
// is a policy document with no upstream placeholder and each list value
// where it belongs.
func FuzzRender(f *testing.F) {
	for _, name := range Names() {
		r := validRequest(name, "aws")
		f.Add(name, strings.Join(slices.Concat(r.HostedZoneARNs, r.SecretARNs, r.ParameterARNs, r.BucketARNs), ","), r.ClusterName, "", "aws")
	}
	f.Add("vpcCNI", "", "", "ipv6", "aws-cn")
	f.Add("velero", "arn:aws:s3:::a*", "", "", "aws")
	f.Fuzz(func(t *testing.T, name, list, cluster, family, partition string) {
		var values []string
		if list != "" {
			values = strings.Split(list, ",")
		}
		r := Request{Name: name, HostedZoneARNs: values, SecretARNs: values, ParameterARNs: values, BucketARNs: values, ClusterName: cluster, IPFamily: family}
		a := lookup(name)
		if a != nil {
			// Only the parameters the add-on takes, or Render refuses.
			keep := Request{Name: name}
			for _, p := range a.params {
				switch p {
				case ParamHostedZoneARNs:
					keep.HostedZoneARNs = values
				case ParamSecretARNs:
					keep.SecretARNs = values
				case ParamParameterARNs:
					keep.ParameterARNs = values
				case ParamBucketARNs:
					keep.BucketARNs = values
				case ParamClusterName:
					keep.ClusterName = cluster
				case ParamIPFamily:
					keep.IPFamily = family
				}
			}
			r = keep
		}
		out, problems := Render(r, Context{Partition: partition, AccountID: "111122223333", Region: "us-west-2"})
		if len(problems) > 0 || out.Inline == nil {
			return
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Inline, &doc); err != nil {
			t.Fatalf("%s: invalid JSON %s", name, out.Inline)
		}
		text := string(out.Inline)
		if strings.Contains(text, "${") || strings.Contains(text, "{arn-aws}") {
			t.Fatalf("%s: placeholder left in %s", name, text)
		}
		for _, v := range slices.Concat(r.HostedZoneARNs, r.SecretARNs, r.ParameterARNs, r.BucketARNs) {
			if strings.Contains(v, "\"") || v == "*" || !strings.Contains(text, `"`+v) {
				t.Fatalf("%s: accepted %q", name, v)
			}
		}
	})
}
