package generator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// Keys are generated at run time: no key is committed.
var (
	testRSA, _   = rsa.GenerateKey(rand.Reader, 2048)
	testRSA2, _  = rsa.GenerateKey(rand.Reader, 2048)
	testP384, _  = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	testP224, _  = ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	testRSA1k, _ = rsa.GenerateKey(rand.Reader, 1024)
)

func pubPEM(t testing.TB, pub crypto.PublicKey) string {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// keysYAML is a publicKeys list of PEM blocks.
func keysYAML(pems ...string) string {
	s := "publicKeys:\n"
	for _, p := range pems {
		s += "- |\n" + indent(strings.TrimSpace(p), 2) + "\n"
	}
	return s
}

// discoveryCluster is cluster "prod" with discovery; spec lines may add an issuer.
func discoveryCluster(s3, keys, extra string) string {
	return clusterDoc("prod", fmt.Sprintf("accountID: %q\n%sdiscovery:\n  s3: %s\n%s", testAccount, extra, s3, indent(keys, 2)))
}

// TestDiscoveryBadInput: every bad discovery input is an error at its
// field, the output is the input untouched, and a pasted private key is
// named as such without its material in the message.
func TestDiscoveryBadInput(t *testing.T) {
	good := keysYAML(pubPEM(t, &testRSA.PublicKey))
	s3 := "{bucket: acme-oidc, region: eu-west-1, prefix: clusters/lab}"
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(testRSA)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	ecDER, _ := x509.MarshalECPrivateKey(testP384)
	ecPrivPEM := string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}))
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	pkcs1Pub := string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&testRSA.PublicKey)}))
	garbled := strings.Replace(pubPEM(t, &testRSA.PublicKey), "MIIB", "MIIC", 1)
	cases := []struct {
		name, s3, keys, extra, field, fragment string
	}{
		{"private key PKCS#8", s3, keysYAML(privPEM), "", "spec.discovery.publicKeys[0]", "is a private key"},
		{"private key EC", s3, keysYAML(pubPEM(t, &testRSA.PublicKey), ecPrivPEM), "", "spec.discovery.publicKeys[1]", "is a private key"},
		{"not PEM", s3, keysYAML("ssh-rsa AAAAB3NzaC1yc2E"), "", "spec.discovery.publicKeys[0]", "is not a PEM block"},
		{"malformed DER", s3, keysYAML(garbled), "", "spec.discovery.publicKeys[0]", "malformed"},
		{"two blocks in one item", s3, keysYAML(pubPEM(t, &testRSA.PublicKey) + pubPEM(t, &testRSA2.PublicKey)), "", "spec.discovery.publicKeys[0]", "more than one PEM block"},
		{"PKCS#1 public key", s3, keysYAML(pkcs1Pub), "", "spec.discovery.publicKeys[0]", `"RSA PUBLIC KEY"`},
		{"ed25519", s3, keysYAML(pubPEM(t, edPub)), "", "spec.discovery.publicKeys[0]", "Ed25519"},
		{"P-224", s3, keysYAML(pubPEM(t, &testP224.PublicKey)), "", "spec.discovery.publicKeys[0]", "P-224"},
		{"RSA 1024", s3, keysYAML(pubPEM(t, &testRSA1k.PublicKey)), "", "spec.discovery.publicKeys[0]", "1024-bit"},
		{"duplicate", s3, keysYAML(pubPEM(t, &testRSA.PublicKey), pubPEM(t, &testRSA.PublicKey)), "", "spec.discovery.publicKeys[1]", "same key as spec.discovery.publicKeys[0]"},
		{"no keys", s3, "", "", "spec.discovery.publicKeys", "is required"},
		{"no s3", "", good, "", "spec.discovery.s3", "is required"},
		{"bucket upper case", "{bucket: Acme-OIDC, region: eu-west-1}", good, "", "spec.discovery.s3.bucket", "not a valid S3 bucket name"},
		{"bucket too short", "{bucket: ab, region: eu-west-1}", good, "", "spec.discovery.s3.bucket", "3 to 63"},
		{"bucket IP", "{bucket: 192.168.5.4, region: eu-west-1}", good, "issuer: https://oidc.example.com\n", "spec.discovery.s3.bucket", "IP address"},
		{"bucket adjacent dots", "{bucket: a..b, region: eu-west-1}", good, "issuer: https://oidc.example.com\n", "spec.discovery.s3.bucket", "'.' may not be next"},
		{"bucket reserved prefix", "{bucket: xn--acme, region: eu-west-1}", good, "", "spec.discovery.s3.bucket", "reserves"},
		{"bucket dotted with derived issuer", "{bucket: acme.oidc, region: eu-west-1}", good, "", "spec.discovery.s3.bucket", "TLS"},
		{"prefix leading slash", "{bucket: acme-oidc, region: eu-west-1, prefix: /clusters/lab}", good, "", "spec.discovery.s3.prefix", "must not start or end"},
		{"prefix trailing slash", "{bucket: acme-oidc, region: eu-west-1, prefix: clusters/}", good, "", "spec.discovery.s3.prefix", "must not start or end"},
		{"prefix dot-dot", "{bucket: acme-oidc, region: eu-west-1, prefix: clusters/../x}", good, "", "spec.discovery.s3.prefix", `".." segment`},
		{"prefix empty segment", "{bucket: acme-oidc, region: eu-west-1, prefix: a//b}", good, "", "spec.discovery.s3.prefix", "empty path segment"},
		{"prefix space", "{bucket: acme-oidc, region: eu-west-1, prefix: 'a b'}", good, "", "spec.discovery.s3.prefix", "may only hold"},
		{"no region", "{bucket: acme-oidc}", good, "", "spec.discovery.s3.region", "is required"},
		{"region outside partition", "{bucket: acme-oidc, region: cn-north-1}", good, "", "spec.discovery.s3.region", "not in partition"},
		{"unknown field", "{bucket: acme-oidc, region: eu-west-1, perfix: x}", good, "", "spec.discovery.s3.perfix", "unknown field"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs := []string{discoveryCluster(c.s3, c.keys, c.extra), bindingDoc("shop", "orders", "")}
			if c.s3 == "" {
				docs[0] = clusterDoc("prod", fmt.Sprintf("accountID: %q\ndiscovery:\n%s", testAccount, indent(c.keys, 2)))
			}
			out := generate(t, "", docs...)
			p := mustProblem(t, out.Problems, SeverityError, c.field, c.fragment)
			if p.Resource.String() != refCluster {
				t.Errorf("problem names %q, want %q", p.Resource, refCluster)
			}
			if got, want := itemsYAML(out.Items), itemsYAML(parseObjects(t, docs...)); got != want {
				t.Errorf("on error the output items must equal the input\n got:\n%s", got)
			}
			for _, q := range out.Problems {
				if strings.Contains(q.Message, "MII") || strings.Contains(q.Message, "PRIVATE KEY-----") || strings.Contains(q.Message, "AAAAB3") {
					t.Errorf("a message repeats key material: %s", q.Message)
				}
			}
		})
	}
}

func TestDiscoveryIssuer(t *testing.T) {
	keys := keysYAML(pubPEM(t, &testRSA.PublicKey))
	cases := []struct{ name, s3, extra, want string }{
		{"with prefix", "{bucket: acme-oidc, region: eu-west-1, prefix: clusters/lab}", "", "https://acme-oidc.s3.eu-west-1.amazonaws.com/clusters/lab"},
		{"no prefix", "{bucket: acme-oidc, region: us-east-1}", "", "https://acme-oidc.s3.us-east-1.amazonaws.com"},
		{"region from spec.region", "{bucket: acme-oidc}", "region: ap-south-1\n", "https://acme-oidc.s3.ap-south-1.amazonaws.com"},
		{"china", "{bucket: acme-oidc, region: cn-north-1}", "partition: aws-cn\n", "https://acme-oidc.s3.cn-north-1.amazonaws.com.cn"},
		{"govcloud", "{bucket: acme-oidc, region: us-gov-west-1}", "partition: aws-us-gov\n", "https://acme-oidc.s3.us-gov-west-1.amazonaws.com"},
		{"explicit issuer kept, dots allowed", "{bucket: oidc.acme.example, region: eu-west-1}", "issuer: https://oidc.acme.example\n", "https://oidc.acme.example"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := generate(t, "", discoveryCluster(c.s3, keys, c.extra), bindingDoc("shop", "orders", ""))
			mustNoErrors(t, out)
			cm := find(out.Items, "ConfigMap", "default", "iambind-oidc-prod")
			if cm == nil {
				t.Fatal("no discovery plan")
			}
			if got := cm.GetAnnotation(AnnotationIssuer); got != c.want {
				t.Errorf("issuer %s, want %s", got, c.want)
			}
			role, _ := planOf(t, out.Items, "shop", "orders")
			if role.OIDCProviders[0].URL != c.want || !strings.HasSuffix(role.OIDCProviders[0].ARN, ":oidc-provider/"+strings.TrimPrefix(c.want, "https://")) {
				t.Errorf("role.json oidcProviders: %+v", role.OIDCProviders)
			}
			var doc OpenIDConfiguration
			if err := json.Unmarshal([]byte(mustData(t, cm, PlanKeyOpenIDConfig)), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Issuer != c.want || doc.JWKSURI != c.want+"/keys.json" {
				t.Errorf("discovery document: %+v", doc)
			}
		})
	}
}

func mustData(t testing.TB, obj interface {
	NestedString(...string) (string, bool, error)
}, key string) string {
	t.Helper()
	s, ok, err := obj.NestedString("data", key)
	if !ok || err != nil {
		t.Fatalf("no data.%s: %v", key, err)
	}
	return s
}

// TestDiscoveryPlan: the ConfigMap's names, labels and documents; kids
// are the kube-apiserver ones (checked against a real server in
// examples/selfhosted_test.go); keys sorted by kid; a fixed point; gone
// with the cluster.
func TestDiscoveryPlan(t *testing.T) {
	keys := keysYAML(pubPEM(t, &testRSA.PublicKey), pubPEM(t, &testP384.PublicKey), pubPEM(t, &testRSA2.PublicKey))
	cluster := strings.Replace(discoveryCluster("{bucket: acme-oidc, region: eu-west-1, prefix: clusters/lab}", keys, ""),
		"  name: prod\n", "  name: prod\n  namespace: platform\n", 1)
	docs := []string{cluster, bindingDoc("shop", "orders", "audience: https://vault.example.com\n"), bindingDoc("shop", "reports", "")}
	out := generate(t, "", docs...)
	mustNoErrors(t, out)
	cm := find(out.Items, "ConfigMap", "platform", "iambind-oidc-prod")
	if cm == nil {
		t.Fatal("no ConfigMap platform/iambind-oidc-prod")
	}
	if cm.GetLabel(LabelPlan) != PlanOIDCValue || cm.GetLabel(LabelManagedBy) != ManagedByValue {
		t.Errorf("labels: %v", cm.GetLabels())
	}
	if got := cm.GetAnnotation(AnnotationAudiences); got != "https://vault.example.com,sts.amazonaws.com" {
		t.Errorf("audiences %q: want the bindings' audiences, sorted", got)
	}
	if got := cm.GetAnnotation("config.kubernetes.io/path"); got != "iambind/platform/oidc/prod.yaml" {
		t.Errorf("path annotation %q", got)
	}
	var set struct {
		Keys []struct{ Kid, Alg, Use, Kty string }
	}
	if err := json.Unmarshal([]byte(mustData(t, cm, PlanKeyJWKS)), &set); err != nil {
		t.Fatal(err)
	}
	var kids, want []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
		if k.Use != "sig" || (k.Kty == "RSA") != (k.Alg == "RS256") || (k.Kty == "EC") != (k.Alg == "ES384") {
			t.Errorf("key %+v", k)
		}
	}
	for _, pub := range []crypto.PublicKey{&testRSA.PublicKey, &testP384.PublicKey, &testRSA2.PublicKey} {
		der, _ := x509.MarshalPKIXPublicKey(pub)
		sum := sha256.Sum256(der)
		want = append(want, base64.RawURLEncoding.EncodeToString(sum[:]))
	}
	slices.Sort(want)
	if !slices.Equal(kids, want) {
		t.Errorf("kids %v, want %v (sorted base64url SHA-256 of the PKIX DER)", kids, want)
	}
	var doc OpenIDConfiguration
	_ = json.Unmarshal([]byte(mustData(t, cm, PlanKeyOpenIDConfig)), &doc)
	if !slices.Equal(doc.SigningAlgs, []string{"ES384", "RS256"}) || !slices.Equal(doc.ResponseTypes, []string{"id_token"}) || !slices.Equal(doc.SubjectTypes, []string{"public"}) {
		t.Errorf("discovery document: %+v", doc)
	}

	// Fixed point and byte stability.
	first := itemsYAML(out.Items)
	again := Generate(parseObjects(t, first), nil)
	mustNoErrors(t, again)
	if got := itemsYAML(again.Items); got != first {
		t.Errorf("not a fixed point:\n%s", got)
	}
	// The key order in the input does not matter.
	reordered := strings.Replace(discoveryCluster("{bucket: acme-oidc, region: eu-west-1, prefix: clusters/lab}",
		keysYAML(pubPEM(t, &testRSA2.PublicKey), pubPEM(t, &testP384.PublicKey), pubPEM(t, &testRSA.PublicKey)), ""),
		"  name: prod\n", "  name: prod\n  namespace: platform\n", 1)
	other := generate(t, "", reordered, docs[1], docs[2])
	if a, b := mustData(t, cm, PlanKeyJWKS), mustData(t, find(other.Items, "ConfigMap", "platform", "iambind-oidc-prod"), PlanKeyJWKS); a != b {
		t.Errorf("JWKS depends on the order of publicKeys")
	}

	// Removing discovery from the cluster removes the plan on the next run.
	var kept []string
	for _, obj := range again.Items {
		if obj.GetKind() == KindCluster {
			continue
		}
		kept = append(kept, obj.String())
	}
	plain := strings.Replace(validCluster(""), "  name: prod\n", "  name: prod\n  namespace: platform\n", 1)
	gone := generate(t, "", append(kept, plain)...)
	mustNoErrors(t, gone)
	if find(gone.Items, "ConfigMap", "platform", "iambind-oidc-prod") != nil {
		t.Error("the discovery plan outlived the cluster's discovery")
	}
}

// A binding whose plan name equals the discovery plan's is refused.
func TestDiscoveryPlanNameClash(t *testing.T) {
	keys := keysYAML(pubPEM(t, &testRSA.PublicKey))
	out := generate(t, "", discoveryCluster("{bucket: acme-oidc, region: eu-west-1}", keys, ""), bindingDoc("default", "oidc-prod", ""))
	mustProblem(t, out.Problems, SeverityError, "metadata.name", "IdentityBinding default/oidc-prod")
	out = generate(t, "", discoveryCluster("{bucket: acme-oidc, region: eu-west-1}", keys, ""),
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-oidc-prod\n")
	mustProblem(t, out.Problems, SeverityError, "metadata.name", "not iambind's")
}

// Two clusters publishing to the same objects are refused.
func TestDiscoverySameTarget(t *testing.T) {
	keys := keysYAML(pubPEM(t, &testRSA.PublicKey))
	a := discoveryCluster("{bucket: acme-oidc, region: eu-west-1, prefix: x}", keys, "")
	b := strings.Replace(discoveryCluster("{bucket: acme-oidc, region: eu-west-1, prefix: x}", keys, "issuer: https://cdn.example.com/x\n"), "name: prod", "name: stage", 1)
	out := generate(t, "", a, b)
	mustProblem(t, out.Problems, SeverityError, "spec.discovery.s3", "same S3 objects")
}
