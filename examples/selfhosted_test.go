package examples

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	jose "github.com/go-jose/go-jose/v4"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/internal/cmdtest"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
)

// The self-hosted example's issuer (examples/self-hosted/cluster.yaml).
const (
	shBucket = "iambind-example-oidc"
	shRegion = "eu-west-1"
	shPrefix = "clusters/lab"
	shIssuer = "https://" + shBucket + ".s3." + shRegion + ".amazonaws.com/" + shPrefix
)

var buildIambind = sync.OnceValue(func() error {
	cmd := exec.Command("go", "build", "-o", filepath.Join(repoRoot, "bin", "iambind"), "./cmd/iambind")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v\n%s", err, out)
	}
	return nil
})

// selfHosted drives examples/self-hosted through the built binaries.
type selfHosted struct {
	t       *testing.T
	pkg     string // a copy of the example
	moto    *mototest.Server
	api     *kubetest.Server
	client  *kubernetes.Clientset
	s3      *s3.Client
	keyDirs map[string]string // key name -> keygen --out dir
}

func (h *selfHosted) iambind(args ...string) (int, string, string) {
	h.t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "bin", "iambind"), args...)
	cmd.Env = append(os.Environ(), h.moto.Env()...)
	return cmdtest.Run(h.t, cmd)
}

// keygen runs `iambind keygen` for a new key and returns its public PEM.
func (h *selfHosted) keygen(name, keyType string) string {
	h.t.Helper()
	dir := filepath.Join(h.t.TempDir(), name)
	code, out, errOut := h.iambind("keygen", "--out", dir, "--type", keyType, "--cluster", "lab", "--account-id", "111122223333",
		"--bucket", shBucket, "--region", shRegion, "--prefix", shPrefix)
	if code != 0 {
		h.t.Fatalf("keygen: exit %d: %s", code, errOut)
	}
	for _, flag := range []string{"--service-account-issuer=" + shIssuer, "--service-account-jwks-uri=" + shIssuer + "/keys.json",
		"--service-account-key-file=" + filepath.Join(dir, "sa-signer.pub"), "--service-account-signing-key-file=" + filepath.Join(dir, "sa-signer.key"),
		"--api-audiences="} {
		if !strings.Contains(out, flag) {
			h.t.Errorf("keygen output lacks %s:\n%s", flag, out)
		}
	}
	if st, err := os.Stat(filepath.Join(dir, "sa-signer.key")); err != nil || st.Mode().Perm() != 0o600 {
		h.t.Fatalf("sa-signer.key must exist with mode 0600: %v %v", st, err)
	}
	pub, err := os.ReadFile(filepath.Join(dir, "sa-signer.pub"))
	if err != nil {
		h.t.Fatal(err)
	}
	if !strings.Contains(out, strings.Split(strings.TrimSpace(string(pub)), "\n")[1]) {
		h.t.Errorf("keygen's IdentityCluster snippet does not carry the public key")
	}
	h.keyDirs[name] = dir
	return string(pub)
}

func (h *selfHosted) signer(name string) kubetest.Options {
	return kubetest.Options{Issuer: shIssuer, JWKSURI: shIssuer + "/keys.json",
		SigningKeyFile: filepath.Join(h.keyDirs[name], "sa-signer.key")}
}

func (h *selfHosted) pubFile(name string) string {
	return filepath.Join(h.keyDirs[name], "sa-signer.pub")
}

// render writes the given public keys into the example's cluster.yaml (a
// Git change), renders it with kustomize and returns the rendered file.
func (h *selfHosted) render(pubs ...string) (string, map[string]string) {
	h.t.Helper()
	clusterFile := filepath.Join(h.pkg, "cluster.yaml")
	data, err := os.ReadFile(clusterFile)
	if err != nil {
		h.t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "    publicKeys:\n")
	text = text[:i] + "    publicKeys:\n"
	for _, p := range pubs {
		text += "      - |\n"
		for _, line := range strings.Split(strings.TrimSpace(p), "\n") {
			text += "        " + line + "\n"
		}
	}
	text = strings.Replace(text, "path: ../../bin/iambind-fn", "path: "+fnBinary(), 1)
	if err := os.WriteFile(clusterFile, []byte(text), 0o644); err != nil {
		h.t.Fatal(err)
	}
	out := kustomizeBuild(h.t, h.pkg)
	rendered := filepath.Join(h.t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(rendered, []byte(out), 0o644); err != nil {
		h.t.Fatal(err)
	}
	cm := find(parse(h.t, out), "ConfigMap", "default", "iambind-oidc-lab")
	if cm == nil {
		h.t.Fatalf("no ConfigMap default/iambind-oidc-lab in the rendered output:\n%s", out)
	}
	if l := cm.GetLabels(); l["iambind.dev/plan"] != "oidc" || l["app.kubernetes.io/managed-by"] != "iambind" {
		h.t.Errorf("discovery plan labels: %v", l)
	}
	return rendered, cm.GetDataMap()
}

// apply runs `iambind apply` and then checks that a plan is a no-op.
func (h *selfHosted) applyConverges(rendered string) string {
	h.t.Helper()
	code, out, errOut := h.iambind("apply", "-f", rendered)
	if code != 0 {
		h.t.Fatalf("apply: exit %d\n%s%s", code, out, errOut)
	}
	h.noOpPlan(rendered)
	return out
}

func (h *selfHosted) noOpPlan(rendered string) {
	h.t.Helper()
	code, out, errOut := h.iambind("plan", "-f", rendered, "--detailed-exitcode", "-o", "json")
	if code != 0 {
		h.t.Fatalf("plan after apply: exit %d (want 0, no changes)\n%s%s", code, out, errOut)
	}
	var doc struct {
		IAMCalls struct{ Writes int } `json:"iamCalls"`
		S3Calls  struct{ Writes int } `json:"s3Calls"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		h.t.Fatal(err)
	}
	if doc.IAMCalls.Writes != 0 || doc.S3Calls.Writes != 0 {
		h.t.Errorf("plan wrote: %s", out)
	}
}

// fetch GETs a published document anonymously over plain HTTP at the
// path-style URL the issuer implies.
func (h *selfHosted) fetch(name string) (int, string, []byte) {
	h.t.Helper()
	resp, err := http.Get(h.moto.Endpoint + "/" + shBucket + "/" + shPrefix + "/" + name)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

func (h *selfHosted) publishedJWKS(want map[string]string) jose.JSONWebKeySet {
	h.t.Helper()
	for _, name := range []string{".well-known/openid-configuration", "keys.json"} {
		data := want[map[string]string{".well-known/openid-configuration": "openid-configuration.json", "keys.json": "keys.json"}[name]]
		code, ctype, body := h.fetch(name)
		if code != http.StatusOK || ctype != "application/json" || string(body) != data {
			h.t.Fatalf("anonymous GET %s: %d %s, body equal to the plan: %v\n%s", name, code, ctype, string(body) == data, body)
		}
	}
	_, _, body := h.fetch("keys.json")
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(body, &set); err != nil {
		h.t.Fatal(err)
	}
	return set
}

// token asks the API server for a token of the example's ServiceAccount.
func (h *selfHosted) token() string {
	h.t.Helper()
	tr, err := h.client.CoreV1().ServiceAccounts("analytics").CreateToken(context.Background(), "reports", &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"sts.amazonaws.com"}},
	}, metav1.CreateOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return tr.Status.Token
}

// verify checks a token's signature against a JWKS with go-jose.
func verify(token string, set jose.JSONWebKeySet) error {
	sig, err := jose.ParseSignedCompact(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.ES384, jose.ES512})
	if err != nil {
		return err
	}
	keys := set.Key(sig.Signatures[0].Header.KeyID)
	if len(keys) == 0 {
		return fmt.Errorf("no published key has the token's kid %q", sig.Signatures[0].Header.KeyID)
	}
	payload, err := sig.Verify(keys[0])
	if err != nil {
		return err
	}
	var claims struct{ Iss, Sub string }
	if err := json.Unmarshal(payload, &claims); err != nil {
		return err
	}
	if claims.Iss != shIssuer || claims.Sub != "system:serviceaccount:analytics:reports" {
		return fmt.Errorf("unexpected claims %s", payload)
	}
	return nil
}

// serverJWKS is the API server's own /openid/v1/jwks.
func (h *selfHosted) serverJWKS() jose.JSONWebKeySet {
	h.t.Helper()
	raw, err := h.client.RESTClient().Get().AbsPath("/openid/v1/jwks").DoRaw(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(raw, &set); err != nil {
		h.t.Fatal(err)
	}
	return set
}

// sameKeys compares two key sets by kid, algorithm, use and key material.
func sameKeys(t *testing.T, what string, got, want jose.JSONWebKeySet) {
	t.Helper()
	summary := func(s jose.JSONWebKeySet) []string {
		var out []string
		for _, k := range s.Keys {
			thumb, _ := k.Thumbprint(crypto.SHA256)
			out = append(out, k.KeyID+" "+k.Algorithm+" "+k.Use+" "+string(thumb))
		}
		slices.Sort(out)
		return out
	}
	if g, w := summary(got), summary(want); !slices.Equal(g, w) {
		t.Errorf("%s: keys differ\n got %q\nwant %q", what, g, w)
	}
}

// TestSelfHosted runs examples/self-hosted end to end: keys from `iambind
// keygen`, a real kube-apiserver signing with them for the derived issuer,
// `iambind apply` publishing the issuer on moto's S3 and IAM, tokens that
// verify against the anonymously fetched JWKS and assume the role on moto's
// STS, drift repair, and a key rotation as three Git changes.
func TestSelfHosted(t *testing.T) {
	if err := buildIambind(); err != nil {
		t.Fatalf("building iambind: %v", err)
	}
	h := &selfHosted{t: t, pkg: copyDir(t, filepath.Join(repoRoot, "examples", "self-hosted")), keyDirs: map[string]string{}}
	h.moto = mototest.StartInAccount(t, "111122223333")
	ctx := context.Background()
	creds := credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")
	h.s3 = s3.New(s3.Options{Region: shRegion, Credentials: creds, BaseEndpoint: aws.String(h.moto.Endpoint), UsePathStyle: true})

	pubA := h.keygen("A", "rsa")
	rendered, data := h.render(pubA)

	// The JWKS iambind rendered has the keys and kids the API server serves.
	opts := h.signer("A")
	opts.KeyFiles = []string{h.pubFile("A")}
	h.api = kubetest.StartTWith(t, opts)
	var err error
	if h.client, err = h.api.Client(); err != nil {
		t.Fatal(err)
	}
	var rendJWKS jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(data["keys.json"]), &rendJWKS); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "rendered JWKS vs kube-apiserver /openid/v1/jwks", rendJWKS, h.serverJWKS())
	raw, err := h.client.RESTClient().Get().AbsPath("/.well-known/openid-configuration").DoRaw(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var serverDoc, ourDoc map[string]any // every field, not only the ones iambind knows
	_ = json.Unmarshal(raw, &serverDoc)
	_ = json.Unmarshal([]byte(data["openid-configuration.json"]), &ourDoc)
	if sj, oj := mustJSON(serverDoc), mustJSON(ourDoc); sj != oj {
		t.Errorf("discovery document differs from kube-apiserver's:\n ours   %s\n server %s", oj, sj)
	}

	// Apply publishes; the documents are public, nothing else in the bucket is.
	out := h.applyConverges(rendered)
	if !strings.Contains(out, "S3 buckets: 1 created") {
		t.Errorf("apply summary: %s", out)
	}
	set := h.publishedJWKS(data)
	if _, err := h.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(shBucket), Key: aws.String(shPrefix + "/private.txt"),
		Body: strings.NewReader("not for the public")}); err != nil {
		t.Fatal(err)
	}
	if code, _, _ := h.fetch("private.txt"); code != http.StatusForbidden {
		t.Errorf("anonymous GET of an unpublished object: %d, want 403 (the bucket policy must grant only the two documents)", code)
	}

	for _, ns := range []string{"analytics"} {
		if _, err := h.client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.client.CoreV1().ServiceAccounts("analytics").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "reports"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenA := h.token()
	if err := verify(tokenA, set); err != nil {
		t.Fatalf("a token signed by key A does not verify against the published JWKS: %v", err)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	_ = os.WriteFile(tokenFile, []byte(tokenA), 0o600)
	if code, out, errOut := h.iambind("check", "-f", rendered, "--token", "@"+tokenFile); code != 0 {
		t.Errorf("iambind check --token: exit %d\n%s%s", code, out, errOut)
	}
	roleARN := "arn:aws:iam::111122223333:role/iambind/analytics-reports"
	stsClient := sts.New(sts.Options{Region: shRegion, BaseEndpoint: aws.String(h.moto.Endpoint)})
	got, err := stsClient.AssumeRoleWithWebIdentity(ctx, &sts.AssumeRoleWithWebIdentityInput{
		RoleArn: aws.String(roleARN), RoleSessionName: aws.String("test"), WebIdentityToken: aws.String(tokenA)})
	if err != nil || got.Credentials == nil || aws.ToString(got.Credentials.AccessKeyId) == "" {
		t.Fatalf("AssumeRoleWithWebIdentity: %v", err)
	}

	// Out-of-band edits of the JWKS (content and content type) are drift.
	if _, err := h.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(shBucket), Key: aws.String(shPrefix + "/keys.json"),
		Body: strings.NewReader(`{"keys":[]}`), ContentType: aws.String("text/plain")}); err != nil {
		t.Fatal(err)
	}
	code, planOut, _ := h.iambind("plan", "-f", rendered, "--detailed-exitcode")
	if code != 2 || !strings.Contains(planOut, "objects."+shPrefix+"/keys.json") {
		t.Errorf("plan after an out-of-band edit: exit %d, want 2 and the object named\n%s", code, planOut)
	}
	code, planJSON, _ := h.iambind("plan", "-f", rendered, "-o", "json")
	if code != 0 || !strings.Contains(planJSON, `"op": "PutObject"`) || !strings.Contains(planJSON, `"key": "`+shPrefix+`/keys.json"`) {
		t.Errorf("JSON plan does not show the repair:\n%s", planJSON)
	}
	h.applyConverges(rendered)
	h.publishedJWKS(data)

	// Rotation, change 1: publish key B next to A. B is an ECDSA key, so
	// the ES256 kid and a mixed algorithm list are checked against the server too.
	pubB := h.keygen("B", "ec")
	rendered, data = h.render(pubA, pubB)
	h.applyConverges(rendered)
	set = h.publishedJWKS(data)
	if len(set.Keys) != 2 {
		t.Fatalf("published JWKS during the rotation has %d keys, want 2", len(set.Keys))
	}
	if err := verify(tokenA, set); err != nil {
		t.Errorf("token A during the rotation: %v", err)
	}

	// Change 2: kube-apiserver signs with B and still accepts A.
	opts = h.signer("B")
	opts.KeyFiles = []string{h.pubFile("A"), h.pubFile("B")}
	if err := h.api.RestartAPIServer(opts); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "rendered JWKS (A+B) vs kube-apiserver", set, h.serverJWKS())
	h.noOpPlan(rendered) // switching the signer changes nothing iambind publishes
	tokenB := h.token()
	if err := verify(tokenB, set); err != nil {
		t.Errorf("token B while both keys are published: %v", err)
	}
	if err := verify(tokenA, set); err != nil {
		t.Errorf("token A while both keys are published: %v", err)
	}

	// Change 3: drop key A.
	rendered, data = h.render(pubB)
	h.applyConverges(rendered)
	set = h.publishedJWKS(data)
	if err := verify(tokenB, set); err != nil {
		t.Errorf("token B after A was dropped: %v", err)
	}
	if err := verify(tokenA, set); err == nil {
		t.Errorf("token A still verifies after key A was dropped")
	}
	opts.KeyFiles = []string{h.pubFile("B")}
	if err := h.api.RestartAPIServer(opts); err != nil {
		t.Fatal(err)
	}
	sameKeys(t, "rendered JWKS (B) vs kube-apiserver", set, h.serverJWKS())
	_ = os.WriteFile(tokenFile, []byte(tokenB), 0o600)
	if code, out, errOut := h.iambind("check", "-f", rendered, "--token", "@"+tokenFile); code != 0 {
		t.Errorf("iambind check --token (B): exit %d\n%s%s", code, out, errOut)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestSelfHostedBadInput: bad discovery input through the real kustomize
// and the built function: a failed build naming the cluster and field, no
// output at all, and no key material in the message.
func TestSelfHostedBadInput(t *testing.T) {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(priv)
	privPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}))
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	edDER, _ := x509.MarshalPKIXPublicKey(edPub)
	edPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: edDER}))
	cases := []struct{ name, old, new, field string }{
		{"private key", "", privPEM, "spec.discovery.publicKeys[0]: is a private key"},
		{"malformed PEM", "", "-----BEGIN PUBLIC KEY-----\nnot base64 at all\n-----END PUBLIC KEY-----\n", "spec.discovery.publicKeys[0]: is not a PEM block"},
		{"unsupported key type", "", edPEM, "spec.discovery.publicKeys[0]: is an Ed25519 key"},
		{"bucket S3 rejects", "bucket: iambind-example-oidc", "bucket: Example_OIDC", "spec.discovery.s3.bucket"},
		{"prefix with ..", "prefix: clusters/lab", "prefix: clusters/../lab", "spec.discovery.s3.prefix"},
		{"prefix with a leading /", "prefix: clusters/lab", "prefix: /clusters/lab", "spec.discovery.s3.prefix"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pkg := copyDir(t, filepath.Join(repoRoot, "examples", "self-hosted"))
			file := filepath.Join(pkg, "cluster.yaml")
			data, _ := os.ReadFile(file)
			text := strings.Replace(string(data), "path: ../../bin/iambind-fn", "path: "+fnBinary(), 1)
			if c.old != "" {
				text = strings.Replace(text, c.old, c.new, 1)
			} else {
				text = text[:strings.Index(text, "      - |\n")] + "      - |\n"
				for _, line := range strings.Split(strings.TrimSpace(c.new), "\n") {
					text += "        " + line + "\n"
				}
			}
			if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
			out, stderr, err := tryKustomizeBuild(t, pkg)
			if err == nil || out != "" {
				t.Fatalf("kustomize build succeeded or wrote output:\n%s", out)
			}
			if !strings.Contains(stderr, "IdentityCluster lab: "+c.field) {
				t.Errorf("stderr does not name the cluster and field %q:\n%s", c.field, stderr)
			}
			if strings.Contains(stderr, "MII") {
				t.Errorf("the error repeats key material:\n%s", stderr)
			}
		})
	}
}
