package generator_test

import (
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// eksWebhook is a mutating admission webhook that does to a pod what the
// EKS Pod Identity webhook does on its container-credentials path for a
// ServiceAccount with an association (written from reading
// aws/amazon-eks-pod-identity-webhook pkg/handler): it adds the token
// volume unless one of that name exists, and per container (but those in
// eks.amazonaws.com/skip-containers) the regional-STS variable, the region
// variables, the two container-credentials variables (each group only when
// none of it is set) and the mount unless one of that name exists; and it
// labels the pod eks.amazonaws.com/pod-identity: enabled.
type eksWebhook struct {
	associations map[string]bool // "<namespace>/<serviceAccount>"
	region       string
	mu           sync.Mutex
	mutated      []string // pods it was asked about, "<name>: <patch ops>"
}

type patchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value,omitempty"`
}

func (h *eksWebhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, "bad review", http.StatusBadRequest)
		return
	}
	resp := &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: true}
	var pod corev1.Pod
	if err := json.Unmarshal(review.Request.Object.Raw, &pod); err == nil && h.associations[review.Request.Namespace+"/"+pod.Spec.ServiceAccountName] {
		ops := h.patch(&pod)
		patch, _ := json.Marshal(ops)
		pt := admissionv1.PatchTypeJSONPatch
		resp.Patch, resp.PatchType = patch, &pt
		h.mu.Lock()
		h.mutated = append(h.mutated, fmt.Sprintf("%s: %d ops", pod.Name, len(ops)))
		h.mu.Unlock()
	}
	review.Response, review.Request = resp, nil
	_ = json.NewEncoder(w).Encode(review)
}

func (h *eksWebhook) patch(pod *corev1.Pod) []patchOp {
	const volume, mountPath, file = "eks-pod-identity-token", "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount", "eks-pod-identity-token"
	skip := map[string]bool{}
	for _, name := range strings.Split(pod.Annotations["eks.amazonaws.com/skip-containers"], ",") {
		skip[strings.TrimSpace(name)] = true
	}
	tokenFile := mountPath + "/" + file
	if pod.Spec.NodeSelector["kubernetes.io/os"] == "windows" || pod.Spec.NodeSelector["beta.kubernetes.io/os"] == "windows" {
		tokenFile = `C:` + strings.ReplaceAll(tokenFile, "/", `\`)
	}
	mutate := func(c *corev1.Container) {
		has := func(names ...string) bool {
			for _, e := range c.Env {
				for _, n := range names {
					if e.Name == n {
						return true
					}
				}
			}
			return false
		}
		if !has("AWS_STS_REGIONAL_ENDPOINTS") {
			c.Env = append(c.Env, corev1.EnvVar{Name: "AWS_STS_REGIONAL_ENDPOINTS", Value: "regional"})
		}
		if !has("AWS_REGION", "AWS_DEFAULT_REGION") {
			c.Env = append(c.Env, corev1.EnvVar{Name: "AWS_DEFAULT_REGION", Value: h.region}, corev1.EnvVar{Name: "AWS_REGION", Value: h.region})
		}
		if !has("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
			c.Env = append(c.Env, corev1.EnvVar{Name: "AWS_CONTAINER_CREDENTIALS_FULL_URI", Value: "http://169.254.170.23/v1/credentials"},
				corev1.EnvVar{Name: "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", Value: tokenFile})
		}
		for _, m := range c.VolumeMounts {
			if m.Name == volume {
				return
			}
		}
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volume, MountPath: mountPath, ReadOnly: true})
	}
	for _, list := range []*[]corev1.Container{&pod.Spec.InitContainers, &pod.Spec.Containers} {
		for i := range *list {
			if !skip[(*list)[i].Name] {
				mutate(&(*list)[i])
			}
		}
	}
	ops := []patchOp{}
	if pod.Labels == nil {
		ops = append(ops, patchOp{"add", "/metadata/labels", map[string]string{"eks.amazonaws.com/pod-identity": "enabled"}})
	} else {
		ops = append(ops, patchOp{"add", "/metadata/labels/eks.amazonaws.com~1pod-identity", "enabled"})
	}
	exists := false
	for _, v := range pod.Spec.Volumes {
		exists = exists || v.Name == volume
	}
	if !exists {
		exp := int64(86400) // the webhook jitters the default; a fixed value keeps the comparison exact
		v := corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{{
			ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Audience: "pods.eks.amazonaws.com", ExpirationSeconds: &exp, Path: file}}}}}}
		if pod.Spec.Volumes == nil {
			ops = append(ops, patchOp{"add", "/spec/volumes", []corev1.Volume{v}})
		} else {
			ops = append(ops, patchOp{"add", "/spec/volumes/0", v})
		}
	}
	ops = append(ops, patchOp{"replace", "/spec/containers", pod.Spec.Containers})
	if len(pod.Spec.InitContainers) > 0 {
		ops = append(ops, patchOp{"replace", "/spec/initContainers", pod.Spec.InitContainers})
	}
	return ops
}

// Against a real API server with a mutating webhook that does what EKS's
// does: a pod iambind injected for Pod Identity passes the webhook with no
// duplicate volume, mount or variable, and ends exactly like a pod only the
// webhook injected (save iambind's marker).
func TestPodIdentityInjectionMeetsWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: runs a kube-apiserver")
	}
	srv := kubetest.StartT(t)
	ctx := context.Background()
	admin, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	hook := &eksWebhook{associations: map[string]bool{"shop/orders": true}, region: "eu-west-1"}
	hs := httptest.NewTLSServer(hook)
	t.Cleanup(hs.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hs.Certificate().Raw})
	fail, none := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone
	url := hs.URL + "/mutate"
	_, err = admin.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "eks-pod-identity"},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:                    "pod-identity.eks.iambind.test",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: ca},
			Rules:                   []admissionregistrationv1.RuleWithOperations{{Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create}, Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}}}},
			FailurePolicy:           &fail,
			SideEffects:             &none,
			AdmissionReviewVersions: []string{"v1"},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "orders"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	pod := func(name, extra string) string {
		return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
  namespace: shop
  labels: {app: orders}
spec:
  serviceAccountName: orders
  initContainers:
  - name: migrate
    image: registry.example/orders-migrate:1
  containers:
  - name: app
    image: registry.example/orders:1` + extra + `
  - name: sidecar
    image: registry.example/sidecar:1
`
	}
	cluster := readGolden(t, "inject-pod-identity-every-kind", "cluster.yaml")
	binding := func(inject bool) string {
		return fmt.Sprintf("apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: orders, namespace: shop}\nspec: {mode: podIdentity, inject: %v}\n", inject)
	}
	injected := renderedPod(t, cluster, binding(true), pod("injected", ""))
	plain := renderedPod(t, cluster, binding(false), pod("plain", ""))
	// A container that sets the agent URI itself: neither iambind nor the webhook touches its pair.
	custom := renderedPod(t, cluster, binding(true), pod("custom", "\n    env:\n    - {name: AWS_CONTAINER_CREDENTIALS_FULL_URI, value: 'http://127.0.0.1:2703/creds'}"))

	// The API server takes a moment to see a new webhook configuration.
	var got map[string]*corev1.Pod
	deadline := time.Now().Add(30 * time.Second)
	for {
		got = map[string]*corev1.Pod{}
		for _, p := range []*corev1.Pod{injected, plain, custom} {
			out, err := admin.CoreV1().Pods("shop").Create(ctx, p.DeepCopy(), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
			if err != nil {
				t.Fatalf("creating pod %s: %v", p.Name, err)
			}
			got[p.Name] = out
		}
		if got["plain"].Labels["eks.amazonaws.com/pod-identity"] == "enabled" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the webhook never mutated a pod")
		}
		time.Sleep(200 * time.Millisecond)
	}

	for name, p := range got {
		if p.Labels["eks.amazonaws.com/pod-identity"] != "enabled" {
			t.Errorf("pod %s: the webhook did not run", name)
		}
		checkNoDuplicates(t, p)
	}
	// Injected by iambind, then passed through the webhook: the same as the webhook alone.
	a, b := got["injected"], got["plain"]
	if a.Annotations[generator.AnnotationInjected] == "" {
		t.Fatal("iambind did not inject the pod")
	}
	for i := range a.Spec.Containers {
		// (The API server's own kube-api-access mount has a random name, so only the token's is compared.)
		ma, mb := tokenMount(a.Spec.Containers[i]), tokenMount(b.Spec.Containers[i])
		if fmt.Sprint(a.Spec.Containers[i].Env) != fmt.Sprint(b.Spec.Containers[i].Env) || ma == nil || fmt.Sprint(*ma) != fmt.Sprint(*mb) {
			t.Errorf("container %s differs:\niambind+webhook: %v %v\nwebhook: %v %v", a.Spec.Containers[i].Name,
				a.Spec.Containers[i].Env, ma, b.Spec.Containers[i].Env, mb)
		}
	}
	if fmt.Sprint(a.Spec.InitContainers[0].Env) != fmt.Sprint(b.Spec.InitContainers[0].Env) {
		t.Errorf("init container differs:\n%v\n%v", a.Spec.InitContainers[0].Env, b.Spec.InitContainers[0].Env)
	}
	if fmt.Sprint(tokenVolume(a)) != fmt.Sprint(tokenVolume(b)) {
		t.Errorf("token volume differs:\n%v\n%v", tokenVolume(a), tokenVolume(b))
	}
	// The user's agent URI stays, alone of its pair.
	for _, e := range got["custom"].Spec.Containers[0].Env {
		if e.Name == generator.EnvContainerAuthTokenFile || e.Name == generator.EnvContainerCredentialsFullURI && e.Value != "http://127.0.0.1:2703/creds" {
			t.Errorf("container with its own agent URI got %s=%s", e.Name, e.Value)
		}
	}
}

func tokenMount(c corev1.Container) *corev1.VolumeMount {
	for i, m := range c.VolumeMounts {
		if m.Name == generator.PodIdentityTokenVolumeName {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func tokenVolume(p *corev1.Pod) *corev1.Volume {
	for i, v := range p.Spec.Volumes {
		if v.Name == generator.PodIdentityTokenVolumeName {
			return &p.Spec.Volumes[i]
		}
	}
	return nil
}

// checkNoDuplicates fails on a volume, mount or variable name that appears twice.
func checkNoDuplicates(t *testing.T, p *corev1.Pod) {
	t.Helper()
	seen := map[string]bool{}
	for _, v := range p.Spec.Volumes {
		if seen[v.Name] {
			t.Errorf("pod %s: volume %s twice", p.Name, v.Name)
		}
		seen[v.Name] = true
	}
	if !seen[generator.PodIdentityTokenVolumeName] {
		t.Errorf("pod %s: no %s volume", p.Name, generator.PodIdentityTokenVolumeName)
	}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		names := map[string]bool{}
		for _, e := range c.Env {
			if names[e.Name] {
				t.Errorf("pod %s container %s: env %s twice", p.Name, c.Name, e.Name)
			}
			names[e.Name] = true
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			if mounts[m.Name] || mounts[m.MountPath] {
				t.Errorf("pod %s container %s: mount %s twice", p.Name, c.Name, m.Name)
			}
			mounts[m.Name], mounts[m.MountPath] = true, true
		}
	}
}

// renderedPod runs the function over the documents and returns the Pod it outputs.
func renderedPod(t *testing.T, docs ...string) *corev1.Pod {
	t.Helper()
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("render: %v", out.Problems)
	}
	for _, o := range out.Items {
		if o.GetKind() != "Pod" {
			continue
		}
		var p corev1.Pod
		if err := yaml.Unmarshal([]byte(o.String()), &p); err != nil {
			t.Fatal(err)
		}
		for k := range p.Annotations {
			if strings.Contains(k, "kubernetes.io/path") || strings.Contains(k, "kubernetes.io/index") {
				delete(p.Annotations, k)
			}
		}
		return &p
	}
	t.Fatal("no Pod rendered")
	return nil
}

func readGolden(t *testing.T, dir, file string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, dir, file))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
