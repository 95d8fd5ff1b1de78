package kube_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/kube"
	"github.com/kptdev/krm-functions-sdk/go/fn"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kustomize/kyaml/kio"
)

// One real API server for the whole package (see internal/kubetest).
var (
	server *kubetest.Server
	admin  *kubernetes.Clientset
)

func TestMain(m *testing.M) {
	var err error
	if server, err = kubetest.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "kube tests:", err)
		os.Exit(1)
	}
	if admin, err = server.Client(); err != nil {
		fmt.Fprintln(os.Stderr, "kube tests:", err)
		server.Stop()
		os.Exit(1)
	}
	code := m.Run()
	server.Stop()
	os.Exit(code)
}

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

func readRepo(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func applier(t *testing.T) *kubetest.Applier {
	t.Helper()
	a, err := kubetest.NewApplier(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// createAll creates the objects of a YAML stream for real (existing ones are kept).
func createAll(t *testing.T, stream []byte) {
	t.Helper()
	objs, err := kubetest.Decode(stream)
	if err != nil {
		t.Fatal(err)
	}
	if err := applier(t).CreateAll(context.Background(), objs, false); err != nil {
		t.Fatal(err)
	}
}

func createNamespaces(t *testing.T, names ...string) {
	t.Helper()
	for _, ns := range names {
		_, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
}

func names[T any](items []T, meta func(*T) metav1.ObjectMeta) []string {
	var out []string
	for i := range items {
		m := meta(&items[i])
		out = append(out, m.Namespace+"/"+m.Name)
	}
	return out
}

func cmNames(p *kube.Plans) []string {
	return names(p.ConfigMaps, func(c *corev1.ConfigMap) metav1.ObjectMeta { return c.ObjectMeta })
}

func saNames(p *kube.Plans) []string {
	return names(p.ServiceAccounts, func(s *corev1.ServiceAccount) metav1.ObjectMeta { return s.ObjectMeta })
}

// TestListPlans creates the committed rendered output of
// examples/kustomize-transformer (plan ConfigMaps, annotated ServiceAccounts, the
// Deployment) plus noise, and lists the plans back as the reconcile reader's input.
func TestListPlans(t *testing.T) {
	ctx := context.Background()
	createNamespaces(t, "shop", "shop-batch")
	rendered := readRepo(t, "examples/kustomize-transformer/expected.yaml")
	createAll(t, rendered)
	createAll(t, []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: not-a-plan, namespace: shop, labels: {app: orders}}
data: {a: b}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: foreign
  namespace: shop
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/not-ours"}
`))

	plans, err := kube.ListPlans(ctx, admin, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cmNames(plans), []string{"kube-system/iambind-ebs-csi-controller-sa", "shop/iambind-orders"}; !slices.Equal(got, want) {
		t.Errorf("plan ConfigMaps = %v, want %v", got, want)
	}
	if got, want := saNames(plans), []string{"kube-system/ebs-csi-controller-sa", "shop/orders", "shop-batch/orders-worker"}; !slices.Equal(got, want) {
		t.Errorf("guard ServiceAccounts = %v, want %v", got, want)
	}

	// The stream carries exactly what the function rendered, minus server fields.
	stream, err := plans.YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"uid:", "resourceVersion:", "managedFields:", "creationTimestamp:"} {
		if strings.Contains(string(stream), field) {
			t.Errorf("the plan stream carries the server field %s", field)
		}
	}
	listed, err := kio.FromBytes(stream)
	if err != nil {
		t.Fatalf("the plan stream is not YAML: %v\n%s", err, stream)
	}
	want, err := kio.FromBytes(rendered)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 5 {
		t.Fatalf("stream has %d documents, want 2 ConfigMaps + 3 ServiceAccounts:\n%s", len(listed), stream)
	}
	for _, got := range listed {
		var orig string
		for _, w := range want {
			if w.GetKind() == got.GetKind() && w.GetNamespace() == got.GetNamespace() && w.GetName() == got.GetName() {
				orig = w.MustString()
			}
		}
		if orig == "" {
			t.Errorf("%s %s/%s is not in the rendered output", got.GetKind(), got.GetNamespace(), got.GetName())
		} else if got.MustString() != orig {
			t.Errorf("%s %s/%s differs from the rendered output:\n--- listed ---\n%s--- rendered ---\n%s", got.GetKind(), got.GetNamespace(), got.GetName(), got.MustString(), orig)
		}
	}

	// One namespace: its plans, and every ServiceAccount bound to their roles.
	plans, err = kube.ListPlans(ctx, admin, kube.PlanSelector, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if got := cmNames(plans); !slices.Equal(got, []string{"shop/iambind-orders"}) {
		t.Errorf("plan ConfigMaps in shop = %v", got)
	}
	if got := saNames(plans); !slices.Equal(got, []string{"shop/orders", "shop-batch/orders-worker"}) {
		t.Errorf("guard ServiceAccounts for shop = %v", got)
	}

	// A selector that matches nothing lists nothing (and no ServiceAccounts).
	plans, err = kube.ListPlans(ctx, admin, "iambind.dev/plan=none", "")
	if err != nil || len(plans.ConfigMaps)+len(plans.ServiceAccounts) != 0 {
		t.Errorf("empty selector result = %v, %v", plans, err)
	}
}

// TestWriteStatus writes Synced then Error onto a plan ConfigMap and reads the
// annotations back; nothing else of the ConfigMap changes.
func TestWriteStatus(t *testing.T) {
	ctx := context.Background()
	createNamespaces(t, "status")
	createAll(t, []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: iambind-app
  namespace: status
  labels: {app.kubernetes.io/managed-by: iambind, iambind.dev/plan: role}
  annotations: {iambind.dev/role-arn: "arn:aws:iam::111122223333:role/status-app"}
data:
  role.json: |
    {"name": "status-app"}
  trust-policy.json: "{}"
`))
	before, err := admin.CoreV1().ConfigMaps("status").Get(ctx, "iambind-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	roleJSON := before.Data["role.json"]
	sum := sha256.Sum256([]byte(roleJSON))
	clock := time.Date(2026, 11, 23, 10, 30, 0, 0, time.FixedZone("CET", 3600))

	if err := kube.WriteStatus(ctx, admin, "status", "iambind-app", kube.Status{Phase: kube.Synced, RoleJSON: roleJSON, Message: "ignored", Time: clock}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.CoreV1().ConfigMaps("status").Get(ctx, "iambind-app", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantAnn := map[string]string{
		"iambind.dev/role-arn":     "arn:aws:iam::111122223333:role/status-app",
		"iambind.dev/applied-at":   "2026-11-23T09:30:00Z",
		"iambind.dev/applied-hash": hex.EncodeToString(sum[:]),
		"iambind.dev/status":       "Synced",
		"iambind.dev/message":      "",
	}
	for k, v := range wantAnn {
		if got.Annotations[k] != v {
			t.Errorf("annotation %s = %q, want %q", k, got.Annotations[k], v)
		}
	}
	if len(got.Annotations) != len(wantAnn) || !maps.Equal(got.Labels, before.Labels) || !maps.Equal(got.Data, before.Data) {
		t.Errorf("WriteStatus changed more than the status annotations: %+v", got.ObjectMeta)
	}

	long := "role status-app: PutRolePolicy: operation error IAM: PutRolePolicy, https response error StatusCode: 403,\n  api error AccessDenied: " + strings.Repeat("é", 300)
	if err := kube.WriteStatus(ctx, admin, "status", "iambind-app", kube.Status{Phase: kube.Error, RoleJSON: roleJSON, Message: long, Time: clock.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, _ = admin.CoreV1().ConfigMaps("status").Get(ctx, "iambind-app", metav1.GetOptions{})
	msg := got.Annotations["iambind.dev/message"]
	if got.Annotations["iambind.dev/status"] != "Error" || got.Annotations["iambind.dev/applied-at"] != "2026-11-23T09:31:00Z" {
		t.Errorf("error status not written: %v", got.Annotations)
	}
	if len(msg) > kube.MaxMessageLength || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "role status-app: PutRolePolicy") || !strings.HasSuffix(msg, "…") {
		t.Errorf("message not shortened to one line of ≤ %d bytes: %q (%d)", kube.MaxMessageLength, msg, len(msg))
	}

	if err := kube.WriteStatus(ctx, admin, "status", "iambind-app", kube.Status{Phase: "Done", Time: clock}); err == nil {
		t.Error("an unknown phase was written")
	}
	if err := kube.WriteStatus(ctx, admin, "status", "iambind-app", kube.Status{Phase: kube.Synced}); err == nil {
		t.Error("a status without a time was written")
	}
	if err := kube.WriteStatus(ctx, admin, "status", "missing", kube.Status{Phase: kube.Synced, Time: clock}); !apierrors.IsNotFound(unwrapAll(err)) || !strings.Contains(err.Error(), "status/missing") {
		t.Errorf("status on a missing ConfigMap: %v", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

func requestToken(t *testing.T, namespace, name string, audiences ...string) string {
	t.Helper()
	expiry := int64(3600)
	tr, err := admin.CoreV1().ServiceAccounts(namespace).CreateToken(context.Background(), name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: audiences, ExpirationSeconds: &expiry},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for %s/%s: %v", namespace, name, err)
	}
	return tr.Status.Token
}

// TestRBAC applies deploy/'s namespace, ServiceAccount and ClusterRole(Binding),
// then acts with a real token of that ServiceAccount: everything the reconcile
// Job needs works, and nothing else does.
func TestRBAC(t *testing.T) {
	ctx := context.Background()
	for _, f := range []string{"deploy/base/namespace.yaml", "deploy/base/serviceaccount.yaml", "deploy/base/rbac.yaml"} {
		createAll(t, readRepo(t, f))
	}
	createNamespaces(t, "rbac")
	createAll(t, []byte(`apiVersion: v1
kind: ConfigMap
metadata:
  name: iambind-web
  namespace: rbac
  labels: {iambind.dev/plan: role}
  annotations: {iambind.dev/role-arn: "arn:aws:iam::111122223333:role/rbac-web"}
data: {role.json: "{}"}
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: web
  namespace: rbac
  annotations: {eks.amazonaws.com/role-arn: "arn:aws:iam::111122223333:role/rbac-web"}
---
apiVersion: v1
kind: Secret
metadata: {name: db, namespace: rbac}
stringData: {password: hunter2}
`))

	token := requestToken(t, "iambind-system", "iambind")
	job, err := kubernetes.NewForConfig(server.ForToken(token))
	if err != nil {
		t.Fatal(err)
	}
	if _, sub, _, err := kube.DecodeTokenClaims(token); err != nil || sub != "system:serviceaccount:iambind-system:iambind" {
		t.Fatalf("token subject = %q, %v", sub, err)
	}

	// Allowed: what the Job does.
	plans, err := kube.ListPlans(ctx, job, "", "")
	if err != nil {
		t.Fatalf("the Job's ServiceAccount cannot list plans: %v", err)
	}
	if !slices.Contains(cmNames(plans), "rbac/iambind-web") || !slices.Contains(saNames(plans), "rbac/web") {
		t.Errorf("listed with the Job's token: %v %v", cmNames(plans), saNames(plans))
	}
	if _, err := job.CoreV1().ConfigMaps("rbac").Get(ctx, "iambind-web", metav1.GetOptions{}); err != nil {
		t.Errorf("get configmap: %v", err)
	}
	if err := kube.WriteStatus(ctx, job, "rbac", "iambind-web", kube.Status{Phase: kube.Synced, RoleJSON: "{}", Time: time.Now()}); err != nil {
		t.Errorf("the Job's ServiceAccount cannot write status: %v", err)
	}
	w, err := job.CoreV1().ConfigMaps("").Watch(ctx, metav1.ListOptions{LabelSelector: kube.PlanSelector})
	if err != nil {
		t.Errorf("watch configmaps: %v", err)
	} else {
		w.Stop()
	}

	// Forbidden: everything else.
	forbidden := map[string]error{}
	_, forbidden["create configmap"] = job.CoreV1().ConfigMaps("rbac").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{})
	forbidden["delete configmap"] = job.CoreV1().ConfigMaps("rbac").Delete(ctx, "iambind-web", metav1.DeleteOptions{})
	cm, _ := admin.CoreV1().ConfigMaps("rbac").Get(ctx, "iambind-web", metav1.GetOptions{})
	_, forbidden["update configmap"] = job.CoreV1().ConfigMaps("rbac").Update(ctx, cm, metav1.UpdateOptions{})
	_, forbidden["get secret"] = job.CoreV1().Secrets("rbac").Get(ctx, "db", metav1.GetOptions{})
	_, forbidden["list secrets"] = job.CoreV1().Secrets("").List(ctx, metav1.ListOptions{})
	_, forbidden["patch serviceaccount"] = job.CoreV1().ServiceAccounts("rbac").Patch(ctx, "web", types.MergePatchType, []byte(`{"metadata":{"annotations":{"eks.amazonaws.com/role-arn":"x"}}}`), metav1.PatchOptions{})
	_, forbidden["create token"] = job.CoreV1().ServiceAccounts("rbac").CreateToken(ctx, "web", &authenticationv1.TokenRequest{}, metav1.CreateOptions{})
	_, forbidden["list pods"] = job.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	for what, err := range forbidden {
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s with the Job's token: got %v, want Forbidden", what, err)
		}
	}
}

// TestTokenRequestMatchesTrustPolicy renders a binding for the kubetest cluster's
// issuer, creates the rendered ServiceAccount, requests a token for it with the
// sts.amazonaws.com audience (what the EKS pod identity webhook projects), and
// checks that the token's claims are exactly what the rendered trust policy admits.
func TestTokenRequestMatchesTrustPolicy(t *testing.T) {
	items, err := fn.ParseKubeObjects([]byte(`apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: kubetest}
spec:
  accountID: "111122223333"
  issuer: ` + server.Issuer + `
---
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: api, namespace: tokens}
spec:
  policies: {managed: [AmazonS3ReadOnlyAccess]}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatal(out.Problems)
	}
	var rendered []string
	var trust string
	for _, obj := range out.Items {
		if obj.IsLocalConfig() {
			continue
		}
		rendered = append(rendered, obj.String())
		if obj.GetKind() == "ConfigMap" {
			trust, _, _ = obj.NestedString("data", "trust-policy.json")
		}
	}
	createNamespaces(t, "tokens")
	createAll(t, []byte(strings.Join(rendered, "\n---\n")))
	sa, err := admin.CoreV1().ServiceAccounts("tokens").Get(context.Background(), "api", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the rendered ServiceAccount was not created: %v", err)
	}
	if sa.Annotations[kube.RoleARNAnnotation] != "arn:aws:iam::111122223333:role/tokens-api" {
		t.Errorf("role-arn annotation = %q", sa.Annotations[kube.RoleARNAnnotation])
	}

	iss, sub, aud, err := kube.DecodeTokenClaims(requestToken(t, "tokens", "api", "sts.amazonaws.com"))
	if err != nil {
		t.Fatal(err)
	}
	if iss != kubetest.Issuer || sub != "system:serviceaccount:tokens:api" || !slices.Equal(aud, []string{"sts.amazonaws.com"}) {
		t.Fatalf("claims iss=%q sub=%q aud=%v", iss, sub, aud)
	}

	var doc struct {
		Statement []struct {
			Effect    string
			Action    string
			Principal struct{ Federated string }
			Condition map[string]map[string]any
		}
	}
	if err := json.Unmarshal([]byte(trust), &doc); err != nil {
		t.Fatalf("trust-policy.json: %v\n%s", err, trust)
	}
	host := strings.TrimPrefix(iss, "https://")
	st := doc.Statement[0]
	if len(doc.Statement) != 1 || st.Effect != "Allow" || st.Action != "sts:AssumeRoleWithWebIdentity" ||
		st.Principal.Federated != "arn:aws:iam::111122223333:oidc-provider/"+host ||
		st.Condition["StringEquals"][host+":sub"] != sub || st.Condition["StringEquals"][host+":aud"] != aud[0] {
		t.Errorf("the trust policy does not admit the token (iss %s, sub %s, aud %v):\n%s", iss, sub, aud, trust)
	}
}

func TestDecodeTokenClaims(t *testing.T) {
	jwt := func(payload string) string {
		enc := func(s string) string {
			return strings.TrimRight(base64URL(s), "=")
		}
		return enc(`{"alg":"RS256"}`) + "." + enc(payload) + ".c2ln"
	}
	for _, tc := range []struct {
		name, token   string
		iss, sub, err string
		aud           []string
	}{
		{name: "list aud", token: jwt(`{"iss":"https://i","sub":"system:serviceaccount:a:b","aud":["sts.amazonaws.com","x"]}`), iss: "https://i", sub: "system:serviceaccount:a:b", aud: []string{"sts.amazonaws.com", "x"}},
		{name: "string aud", token: jwt(`{"iss":"https://i","sub":"s","aud":"sts.amazonaws.com"}`), iss: "https://i", sub: "s", aud: []string{"sts.amazonaws.com"}},
		{name: "no aud", token: " " + jwt(`{"iss":"https://i","sub":"s"}`) + "\n", iss: "https://i", sub: "s"},
		{name: "two parts", token: "a.b", err: "3"},
		{name: "not base64", token: "a.!!!.c", err: "base64url"},
		{name: "not json", token: jwt(`[1]`), err: "JSON object"},
		{name: "bad aud", token: jwt(`{"iss":"i","sub":"s","aud":7}`), err: "aud"},
		{name: "no sub", token: jwt(`{"iss":"i"}`), err: "no iss or sub"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iss, sub, aud, err := kube.DecodeTokenClaims(tc.token)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil || iss != tc.iss || sub != tc.sub || !slices.Equal(aud, tc.aud) {
				t.Errorf("got %q %q %v %v", iss, sub, aud, err)
			}
		})
	}
}

func TestRoleHashIsSha256sum(t *testing.T) {
	// echo '{}' | sha256sum
	if got := kube.RoleHash("{}\n"); got != "ca3d163bab055381827226140568f3bef7eaac187cebd76878e0b63e9e442356" {
		t.Errorf("RoleHash = %s", got)
	}
}

// TestConfigFromKubeconfig: outside a pod, Config reads the named kubeconfig.
func TestConfigFromKubeconfig(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod
	path := filepath.Join(t.TempDir(), "kubeconfig")
	kubeconfig := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: kubetest, cluster: {server: %q, certificate-authority-data: %q}}]
users: [{name: admin, user: {token: %q}}]
contexts: [{name: kubetest, context: {cluster: kubetest, user: admin}}]
current-context: kubetest
`, server.Config.Host, base64Std(server.Config.CAData), server.Config.BearerToken)
	if err := os.WriteFile(path, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := kube.Config(path)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.ListPlans(context.Background(), client, "", ""); err != nil {
		t.Errorf("listing through the kubeconfig: %v", err)
	}

	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	t.Setenv("HOME", t.TempDir())
	if _, err := kube.Config(""); err == nil || !strings.Contains(err.Error(), "not running in a pod") {
		t.Errorf("no config anywhere: err = %v", err)
	}
}
