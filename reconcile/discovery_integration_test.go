package reconcile

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/mototest"
)

// discoveryClusterYAML is a self-hosted cluster for the moto account; the
// key is generated per test (no key is committed).
func discoveryClusterYAML(t *testing.T, bucket, region, prefix string) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	s := `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata:
  name: lab
spec:
  accountID: "` + testAccount + `"
  rolePath: /iambind/
  discovery:
    s3:
      bucket: ` + bucket + `
      region: ` + region + "\n"
	if prefix != "" {
		s += "      prefix: " + prefix + "\n"
	}
	return s + "    publicKeys:\n    - |\n      " + strings.ReplaceAll(pub, "\n", "\n      ") + "\n"
}

func (e *env) s3() *s3.Client {
	return s3.New(s3.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.srv.Endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
}

func (e *env) buckets() []string {
	e.t.Helper()
	out, err := e.s3().ListBuckets(context.Background(), &s3.ListBucketsInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, b := range out.Buckets {
		names = append(names, aws.ToString(b.Name))
	}
	return names
}

func (e *env) anonymousGet(path string) (int, string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.Endpoint + "/" + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// A discovery cluster without any binding still gets its bucket, documents
// and IAM OIDC provider; us-east-1 buckets are created without a
// LocationConstraint; a second run writes nothing.
func TestIntegrationDiscoveryWithoutBindings(t *testing.T) {
	e := newEnv(t)
	rendered := render(t, discoveryClusterYAML(t, "lab-oidc", "us-east-1", ""))
	r := e.run("", "apply", "-f", e.file(rendered))
	if r.code != 0 || !strings.Contains(r.stdout, "S3 buckets: 1 created") {
		t.Fatalf("apply: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	issuer := "https://lab-oidc.s3.us-east-1.amazonaws.com"
	if p := e.providers(); !slices.Equal(p[generator.OIDCProviderARN("aws", testAccount, issuer)], []string{"sts.amazonaws.com"}) {
		t.Errorf("OIDC providers %v: want %s with sts.amazonaws.com", p, issuer)
	}
	if code, body := e.anonymousGet("lab-oidc/.well-known/openid-configuration"); code != 200 || !strings.Contains(body, `"issuer": "`+issuer+`"`) {
		t.Errorf("anonymous GET of the discovery document: %d %s", code, body)
	}
	if code := e.planExit(rendered); code != 0 {
		t.Errorf("second plan: exit %d, want 0", code)
	}
	r = e.run("", "apply", "-f", e.file(rendered))
	if !strings.Contains(r.stdout, "S3 calls: 6 reads, 0 writes") || !strings.Contains(r.stdout, "IAM calls: 1 reads, 0 writes") {
		t.Errorf("no-op apply: %s", r.stdout)
	}
}

// A bucket iambind does not own is refused (nothing written) unless
// --adopt; adopting keeps the others' tags and policy statements.
func TestIntegrationDiscoveryForeignBucket(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c := e.s3()
	e.must(c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("shared-oidc"),
		CreateBucketConfiguration: &s3types.CreateBucketConfiguration{LocationConstraint: "eu-west-1"}}, func(o *s3.Options) { o.Region = "eu-west-1" }))
	e.must(c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: aws.String("shared-oidc"),
		Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("team"), Value: aws.String("sec")}}}}, func(o *s3.Options) { o.Region = "eu-west-1" }))
	others := `{"Version":"2012-10-17","Statement":[{"Sid":"Logs","Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::shared-oidc/logs/*"}]}`
	e.must(c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("shared-oidc"), Policy: aws.String(others)}, func(o *s3.Options) { o.Region = "eu-west-1" }))

	rendered := render(t, discoveryClusterYAML(t, "shared-oidc", "eu-west-1", "clusters/lab"), bindingYAML("shop", "orders"))
	r := e.run("", "apply", "-f", e.file(rendered))
	if r.code != 1 || !strings.Contains(r.stderr, "S3 bucket shared-oidc already exists and is not owned by \"lab\"") || !strings.Contains(r.stderr, "--adopt") {
		t.Fatalf("apply into a foreign bucket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if names := e.roleNames(); len(names) != 0 || len(e.providers()) != 0 {
		t.Errorf("a refused apply wrote IAM: roles %v providers %v", names, e.providers())
	}
	r = e.run("", "apply", "-f", e.file(rendered), "--adopt")
	if r.code != 0 {
		t.Fatalf("apply --adopt: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	tags, _ := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String("shared-oidc")}, func(o *s3.Options) { o.Region = "eu-west-1" })
	got := map[string]string{}
	for _, tg := range tags.TagSet {
		got[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	if got["team"] != "sec" || got[generator.TagOwner] != "lab" {
		t.Errorf("tags after adoption: %v", got)
	}
	pol, _ := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String("shared-oidc")}, func(o *s3.Options) { o.Region = "eu-west-1" })
	if p := aws.ToString(pol.Policy); !strings.Contains(p, `"Logs"`) || !strings.Contains(p, "IambindOIDCDiscoveryPublicRead") {
		t.Errorf("policy after adoption must keep the others' statement: %s", p)
	}
	if code := e.planExit(rendered); code != 0 {
		t.Errorf("plan after adoption: exit %d", code)
	}
}

// A prefix change leaves the old documents; --prune removes exactly those
// iambind uploaded, never others' objects, and never the bucket.
func TestIntegrationDiscoveryPrune(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cluster := discoveryClusterYAML(t, "lab-oidc", "eu-west-1", "v1")
	e.run("", "apply", "-f", e.file(render(t, cluster, bindingYAML("shop", "orders"))))
	foreign := "v1/other/keys.json"
	e.must(e.s3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("lab-oidc"), Key: aws.String(foreign), Body: strings.NewReader("{}")},
		func(o *s3.Options) { o.Region = "eu-west-1" }))

	moved := render(t, strings.Replace(cluster, "prefix: v1", "prefix: v2", 1), bindingYAML("shop", "orders"))
	r := e.run("", "apply", "-f", e.file(moved))
	if r.code != 0 {
		t.Fatalf("apply v2: %s%s", r.stdout, r.stderr)
	}
	if code, _ := e.anonymousGet("lab-oidc/v1/keys.json"); code != http.StatusForbidden {
		t.Errorf("the old JWKS must no longer be public once the statement moved: %d", code)
	}
	r = e.run("", "plan", "-f", e.file(moved), "--prune")
	if !strings.Contains(r.stdout, "- objects.v1/keys.json") || strings.Contains(r.stdout, foreign) {
		t.Errorf("plan --prune: %s", r.stdout)
	}
	r = e.run("", "apply", "-f", e.file(moved), "--prune")
	if r.code != 0 || !strings.Contains(r.stdout, "2 deleted") {
		t.Fatalf("apply --prune: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	list, _ := e.s3().ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("lab-oidc")}, func(o *s3.Options) { o.Region = "eu-west-1" })
	var keys []string
	for _, o := range list.Contents {
		keys = append(keys, aws.ToString(o.Key))
	}
	if want := []string{"v1/other/keys.json", "v2/.well-known/openid-configuration", "v2/keys.json"}; !slices.Equal(keys, want) {
		t.Errorf("objects after prune: %v, want %v", keys, want)
	}
	if code := e.planExit(moved, "--prune"); code != 0 {
		t.Errorf("plan --prune after prune: exit %d", code)
	}
}

// Bad discovery plans are refused before AWS is touched.
func TestIntegrationDiscoveryBadPlanWritesNothing(t *testing.T) {
	e := newEnv(t)
	good := render(t, discoveryClusterYAML(t, "lab-oidc", "eu-west-1", "clusters/lab"), bindingYAML("shop", "orders"))
	cases := map[string]string{
		"bad bucket":         strings.Replace(good, "iambind.dev/s3-bucket: lab-oidc", "iambind.dev/s3-bucket: Lab_OIDC", 1),
		"prefix with ..":     strings.Replace(good, "iambind.dev/s3-prefix: clusters/lab", "iambind.dev/s3-prefix: clusters/../lab", 1),
		"prefix with /":      strings.Replace(good, "iambind.dev/s3-prefix: clusters/lab", "iambind.dev/s3-prefix: /clusters/lab", 1),
		"tampered kid":       strings.Replace(good, `"kid": "`, `"kid": "x`, 1),
		"private key member": strings.Replace(good, `"e": "AQAB"`, `"e": "AQAB", "d": "AQAB"`, 1),
		"missing keys.json":  cutKeysJSON(good),
	}
	for name, rendered := range cases {
		t.Run(name, func(t *testing.T) {
			if rendered == good {
				t.Fatal("the case did not change the plan")
			}
			r := e.run(rendered, "apply", "-f", "-")
			if r.code != 1 || !strings.Contains(r.stderr, "ConfigMap default/iambind-oidc-lab") {
				t.Errorf("exit %d, want 1 naming the plan\n%s", r.code, r.stderr)
			}
			if b := e.buckets(); len(b) != 0 || len(e.roleNames()) != 0 || len(e.providers()) != 0 {
				t.Errorf("a refused plan wrote: buckets %v roles %v", b, e.roleNames())
			}
		})
	}
}

// cutKeysJSON removes data.keys.json from the discovery plan.
func cutKeysJSON(rendered string) string {
	i := strings.Index(rendered, "\n  keys.json: |")
	end := strings.Index(rendered[i+1:], "\n---\n")
	if i < 0 || end < 0 {
		return rendered
	}
	return rendered[:i+1] + rendered[i+1+end+1:]
}
