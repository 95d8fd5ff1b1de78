package input

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/iambind/iambind/generator"
	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// renderedPlan is the discovery plan the real generator writes for a
// fresh key: its annotations and data.
func renderedPlan(t *testing.T) (map[string]string, map[string]string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	pub := strings.TrimSpace(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	items, err := fn.ParseKubeObjects([]byte(`apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: lab}
spec:
  accountID: "123456789012"
  discovery:
    s3: {bucket: acme-oidc, region: eu-west-1, prefix: clusters/lab}
    publicKeys:
    - |
      ` + strings.ReplaceAll(pub, "\n", "\n      ") + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatal(out.Problems)
	}
	for _, obj := range out.Items {
		if obj.GetName() == "iambind-oidc-lab" {
			data, _, _ := obj.NestedStringMap("data")
			return obj.GetAnnotations(), data
		}
	}
	t.Fatal("no discovery plan rendered")
	return nil, nil
}

func TestParsePlan(t *testing.T) {
	ann, data := renderedPlan(t)
	d, err := ParseDiscoveryPlan("test", ann, data)
	if err != nil {
		t.Fatal(err)
	}
	if d.Issuer != "https://acme-oidc.s3.eu-west-1.amazonaws.com/clusters/lab" || d.AccountID != "123456789012" || d.Partition != "aws" ||
		d.Prefix != "clusters/lab" || len(d.Objects()) != 2 || d.Audiences[0] != "sts.amazonaws.com" {
		t.Errorf("parsed %+v", d)
	}

	// A hand-edited or hostile plan decides which keys IAM trusts: every
	// inconsistency is refused with the plan's source named.
	replace := func(m map[string]string, key, old, new string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		out[key] = strings.Replace(out[key], old, new, 1)
		return out
	}
	del := func(m map[string]string, key string) map[string]string {
		out := replace(m, key, "", "")
		delete(out, key)
		return out
	}
	cases := []struct {
		name      string
		ann, data map[string]string
		fragment  string
	}{
		{"no bucket", del(ann, generator.AnnotationS3Bucket), data, "no iambind.dev/s3-bucket annotation"},
		{"bad bucket", replace(ann, generator.AnnotationS3Bucket, "acme-oidc", "Acme_OIDC"), data, "not a valid S3 bucket name"},
		{"prefix escapes", replace(ann, generator.AnnotationS3Prefix, "clusters/lab", "clusters/../other"), data, `".." segment`},
		{"provider ARN of another issuer", replace(ann, generator.AnnotationOIDCProviderARN, "clusters/lab", "clusters/x"), data, "is not the OIDC provider ARN"},
		{"issuer differs from the document", replace(ann, generator.AnnotationIssuer, "clusters/lab", "clusters/x"), data, "is not the OIDC provider ARN"},
		{"jwks_uri elsewhere", ann, replace(data, generator.PlanKeyOpenIDConfig, "clusters/lab/keys.json", "evil/keys.json"), "jwks_uri"},
		{"unknown field in the document", ann, replace(data, generator.PlanKeyOpenIDConfig, `"issuer"`, `"x": 1, "issuer"`), "unknown field"},
		{"kid not kube-apiserver's", ann, replace(data, generator.PlanKeyJWKS, `"kid": "`, `"kid": "X`), "kid, alg or use differ"},
		{"private key material", ann, replace(data, generator.PlanKeyJWKS, `"e": "AQAB"`, `"e": "AQAB", "d": "AQAB"`), "holds private key material"},
		{"empty key set", ann, replace(data, generator.PlanKeyJWKS, data[generator.PlanKeyJWKS], `{"keys": []}`), "holds no key"},
		{"no JWKS", ann, del(data, generator.PlanKeyJWKS), "no data.keys.json"},
		{"alg list disagrees", ann, replace(data, generator.PlanKeyOpenIDConfig, `"RS256"`, `"ES256"`), "differs from the keys' algorithms"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDiscoveryPlan("rendered.yaml: ConfigMap default/iambind-oidc-lab", c.ann, c.data)
			if err == nil || !strings.Contains(err.Error(), c.fragment) || !strings.HasPrefix(err.Error(), "rendered.yaml: ConfigMap default/iambind-oidc-lab: ") {
				t.Errorf("error %v, want one naming the source and containing %q", err, c.fragment)
			}
		})
	}
}

func TestCollect(t *testing.T) {
	a := &DiscoveryPlan{Cluster: "lab", Owner: "lab", Issuer: "https://acme-oidc.s3.eu-west-1.amazonaws.com/clusters/lab", Bucket: "acme-oidc", Prefix: "clusters/lab", JWKS: []byte(`{"keys":[]}`)}
	plans, err := CollectDiscovery(nil, a)
	if err != nil {
		t.Fatal(err)
	}
	same := *a
	if plans, err = CollectDiscovery(plans, &same); err != nil || len(plans) != 1 {
		t.Errorf("the same plan read twice: %v, %d plans", err, len(plans))
	}
	other := *a
	other.JWKS = []byte("{}")
	if _, err := CollectDiscovery(plans, &other); err == nil || !strings.Contains(err.Error(), "planned twice") {
		t.Errorf("two different plans for one issuer: %v", err)
	}
}
