package examples

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
)

const injectionDir = "examples/injection"

// injectedExample lists the workloads of examples/injection that run as a
// bound ServiceAccount, and the containers of each that must be injected.
var injectedExample = map[string][]string{
	"Deployment/orders":                 {"migrate", "app"}, // proxy is skipped
	"StatefulSet/orders-ledger":         {"app"},
	"DaemonSet/orders-agent":            {"app"},
	"ReplicaSet/orders-legacy":          {"app"},
	"ReplicationController/orders-old":  {"app"},
	"Job/orders-backfill":               {"app"},
	"CronJob/orders-report":             {"app"},
	"Pod/orders-debug":                  {"app"},
	"Rollout/orders-canary":             {"app"},
	"Deployment/storefront":             nil, // not bound: untouched
	"Deployment/orders#proxy (skipped)": nil,
}

// TestInjection renders examples/injection with kustomize (transformer mode)
// and kpt (Kptfile pipeline) and checks both inject the same thing into
// every workload kind, and that kpt's in-place result is a fixed point.
// TestInjectionCredentialChain has a real kube-apiserver create them.
func TestInjection(t *testing.T) {
	out := kustomizeBuild(t, injectionDir)
	golden.Check(t, filepath.Join(repoRoot, injectionDir, "expected.yaml"), out)
	kustomized := podSpecs(t, out)
	checkInjection(t, "kustomize", kustomized)

	kptApp := kptRenderInjection(t)
	kpted := podSpecs(t, kptApp)
	checkInjection(t, "kpt", kpted)
	for id, spec := range kustomized {
		if !reflect.DeepEqual(spec, kpted[id]) {
			t.Errorf("%s: kpt and kustomize rendered different pod templates:\nkustomize: %v\nkpt: %v", id, spec, kpted[id])
		}
	}
}

// kptRenderInjection renders examples/injection as a kpt package (Kptfile
// pipeline), twice, checks the second render changes nothing, and returns
// the generated objects and the rendered app.yaml (the workloads, injected
// in place).
func kptRenderInjection(t *testing.T) string {
	t.Helper()
	kpt := kptBinary(t)
	pkg := filepath.Join(t.TempDir(), "injection")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"app.yaml", "bindings.yaml", "cluster.yaml"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, injectionDir, f))
		if err != nil {
			t.Fatal(err)
		}
		write(t, pkg, f, string(b))
	}
	write(t, pkg, "Kptfile", "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: injection\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n  mutators:\n    - exec: "+fnBinary()+"\n")
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "render", pkg, "--allow-exec"); err != nil {
		t.Fatalf("kpt fn render: %v\n%s", err, stderr)
	}
	first := snapshot(t, pkg)
	if _, stderr, err := run(t, repoRoot, kpt, "fn", "render", pkg, "--allow-exec"); err != nil {
		t.Fatalf("kpt fn render (second run): %v\n%s", err, stderr)
	}
	diffSnapshots(t, "a second kpt fn render over its own output", first, snapshot(t, pkg))
	// Generated objects (the ServiceAccounts the Pod needs) first, then the app.
	var generated, app []string
	for path, content := range first {
		switch {
		case strings.HasPrefix(path, "iambind"+string(filepath.Separator)):
			generated = append(generated, content)
		case path == "app.yaml":
			app = append(app, content)
		}
	}
	if len(generated) == 0 || len(app) == 0 {
		t.Fatalf("kpt fn render wrote no generated objects or no app.yaml: %v", first)
	}
	return strings.Join(append(generated, app...), "\n---\n")
}

// TestInjectionCredentialChain is the whole chain for the rendered
// Deployment, without a node: iambind apply creates its role in moto; a real
// kube-apiserver issues the token the rendered volume would project (same
// ServiceAccount, audience and lifetime); the token is written where the
// rendered AWS_WEB_IDENTITY_TOKEN_FILE points (under a temp root); a process
// run with exactly the rendered container env plus AWS_ENDPOINT_URL gets
// web-identity credentials for the role from the SDK's default chain.
func TestInjectionCredentialChain(t *testing.T) {
	srv := kubetest.StartT(t)
	moto := mototest.Start(t)
	moto.SetEnv(t)

	// The example, for the test API server's issuer (so the real token is
	// also checked against the rendered trust policy).
	dir := copyDir(t, filepath.Join(repoRoot, injectionDir))
	cluster, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	c := strings.Replace(string(cluster), "https://oidc.lab.example.com/cluster", kubetest.Issuer, 1)
	c = strings.Replace(c, "../../bin/iambind-fn", fnBinary(), 1)
	write(t, dir, "cluster.yaml", c)
	rendered := kustomizeBuild(t, dir)
	renderedFile := filepath.Join(t.TempDir(), "rendered.yaml")
	write(t, filepath.Dir(renderedFile), "rendered.yaml", rendered)
	// A real API server admits every rendered workload, from kustomize and
	// from kpt (created, not dry-run; the Rollout CRD is not installed, so the
	// Rollout is left out).
	createRendered(t, srv, rendered, "shop")
	createRendered(t, srv, kptRenderInjection(t), "shop-kpt")

	var stdout, stderr bytes.Buffer
	if code := clitest.Run(context.Background(), []string{"apply", "-f", renderedFile, "--endpoint-url", moto.Endpoint}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("iambind apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	// What the kubelet would do for the rendered Deployment's pod.
	dep := findNode(t, rendered, "Deployment", "orders")
	spec := dep.Field("spec").Value.Field("template").Value.Field("spec").Value
	sa := yaml.GetValue(spec.Field("serviceAccountName").Value)
	var audience string
	var expiration int64
	vols, _ := spec.Pipe(yaml.Lookup("volumes"))
	for _, v := range vols.Content() {
		var vol struct {
			Name      string `yaml:"name"`
			Projected struct {
				Sources []struct {
					ServiceAccountToken *struct {
						Audience          string `yaml:"audience"`
						ExpirationSeconds int64  `yaml:"expirationSeconds"`
					} `yaml:"serviceAccountToken"`
				} `yaml:"sources"`
			} `yaml:"projected"`
		}
		if err := v.Decode(&vol); err != nil {
			t.Fatal(err)
		}
		if vol.Name != generator.TokenVolumeName {
			continue
		}
		for _, src := range vol.Projected.Sources {
			if tok := src.ServiceAccountToken; tok != nil {
				audience, expiration = tok.Audience, tok.ExpirationSeconds
			}
		}
	}
	if audience == "" || expiration == 0 {
		t.Fatalf("no projected token volume in the rendered Deployment:\n%s", dep.MustString())
	}
	admin, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := admin.CoreV1().ServiceAccounts("shop").CreateToken(context.Background(), sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{audience}, ExpirationSeconds: &expiration},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("TokenRequest for shop/%s: %v", sa, err)
	}

	env := containerEnv(t, spec, "app")
	root := t.TempDir()
	tokenFile := env[generator.EnvTokenFile]
	if tokenFile != generator.TokenFile {
		t.Fatalf("AWS_WEB_IDENTITY_TOKEN_FILE = %q", tokenFile)
	}
	if err := os.MkdirAll(filepath.Join(root, filepath.Dir(tokenFile)), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(root, filepath.Dir(tokenFile)), filepath.Base(tokenFile), tr.Status.Token)
	env[generator.EnvTokenFile] = filepath.Join(root, tokenFile)

	// The rendered trust policy admits this very token.
	stdout.Reset()
	stderr.Reset()
	if code := clitest.Run(context.Background(), []string{"check", "-f", renderedFile, "--token", "@" + env[generator.EnvTokenFile]}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("iambind check --token: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}

	var podEnv []string
	for k, v := range env {
		podEnv = append(podEnv, k+"="+v)
	}
	// Only the moto endpoint is added. The Go SDK (config v1.33) resolves
	// the global AWS_ENDPOINT_URL after the credential chain, so its
	// web-identity STS client does not see it; the STS-specific variable
	// reaches it.
	goEnv := append([]string{"AWS_ENDPOINT_URL_STS=" + moto.Endpoint}, podEnv...)
	roleARN := env[generator.EnvRoleARN]
	wantPrefix := "arn:aws:sts::123456789012:assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/"

	whoami := filepath.Join(t.TempDir(), "whoami")
	build := exec.Command("go", "build", "-o", whoami, "./examples/testdata/whoami")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building whoami: %v\n%s", err, out)
	}
	cmd := exec.Command(whoami)
	cmd.Dir, cmd.Env = t.TempDir(), goEnv
	got, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("whoami with the rendered env %v: %v\n%s", goEnv, err, got)
	}
	source, arn, _ := strings.Cut(strings.TrimSpace(string(got)), " ")
	if source != "WebIdentityCredentials" || !strings.HasPrefix(arn, wantPrefix) {
		t.Fatalf("the Go SDK default chain got %q credentials for %q, want WebIdentityCredentials for %s*", source, arn, wantPrefix)
	}
}

// containerEnv returns the literal env of one container of a pod spec.
func containerEnv(t *testing.T, spec *yaml.RNode, name string) map[string]string {
	t.Helper()
	c, err := spec.Pipe(yaml.Lookup("containers", "[name="+name+"]"))
	if err != nil || c == nil {
		t.Fatalf("container %s not found", name)
	}
	env := map[string]string{}
	list, _ := c.Pipe(yaml.Lookup("env"))
	for _, e := range list.Content() {
		n := yaml.NewRNode(e)
		if v := n.Field("value"); v != nil {
			env[yaml.GetValue(n.Field("name").Value)] = yaml.GetValue(v.Value)
		}
	}
	return env
}

func findNode(t *testing.T, stream, kind, name string) *yaml.RNode {
	t.Helper()
	for _, n := range parse(t, stream) {
		if n.GetKind() == kind && n.GetName() == name {
			return n
		}
	}
	t.Fatalf("%s %s not in the rendered output", kind, name)
	return nil
}

// podSpecs maps "<kind>/<name>" of every workload in a stream to its pod
// template (metadata and spec) as plain values.
func podSpecs(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, n := range parse(t, stream) {
		fields, ok := generator.PodTemplatePath(n.GetApiVersion(), n.GetKind())
		if !ok {
			continue
		}
		tmpl := n
		if len(fields) > 0 {
			var err error
			if tmpl, err = n.Pipe(yaml.Lookup(fields...)); err != nil || tmpl == nil {
				t.Fatalf("%s %s has no pod template", n.GetKind(), n.GetName())
			}
		}
		var m map[string]any
		if err := tmpl.YNode().Decode(&m); err != nil {
			t.Fatal(err)
		}
		if len(fields) == 0 { // a Pod: its metadata holds more than a template's
			md, _ := m["metadata"].(map[string]any)
			m = map[string]any{"metadata": map[string]any{"annotations": md["annotations"]}, "spec": m["spec"]}
		}
		out[n.GetKind()+"/"+n.GetName()] = m
	}
	return out
}

// checkInjection checks every workload of the example against injectedExample.
func checkInjection(t *testing.T, by string, specs map[string]map[string]any) {
	t.Helper()
	for id, want := range injectedExample {
		if strings.Contains(id, "#") {
			continue
		}
		m, ok := specs[id]
		if !ok {
			t.Errorf("%s: %s missing from the output", by, id)
			continue
		}
		b, _ := yaml.Marshal(m)
		text := string(b)
		if len(want) == 0 {
			if strings.Contains(text, "AWS_") || strings.Contains(text, generator.AnnotationInjected) {
				t.Errorf("%s: %s must not be injected:\n%s", by, id, text)
			}
			continue
		}
		if !strings.Contains(text, generator.AnnotationInjected) {
			t.Errorf("%s: %s has no %s marker", by, id, generator.AnnotationInjected)
		}
		if got := strings.Count(text, "name: "+generator.EnvRoleARN); got != len(want) {
			t.Errorf("%s: %s has AWS_ROLE_ARN in %d containers, want %d (%v):\n%s", by, id, got, len(want), want, text)
		}
		if got := strings.Count(text, "mountPath: "+generator.TokenMountPath); got != len(want) {
			t.Errorf("%s: %s mounts the token in %d containers, want %d", by, id, got, len(want))
		}
		if !strings.Contains(text, "expirationSeconds: 3600") || !strings.Contains(text, "audience: sts.amazonaws.com") {
			t.Errorf("%s: %s lacks the binding's token volume:\n%s", by, id, text)
		}
	}
}

// createRendered creates (for real) every namespaced object of a rendered
// stream in namespace ns: ServiceAccounts, plans and every workload kind the
// server serves.
func createRendered(t *testing.T, srv *kubetest.Server, stream, ns string) {
	t.Helper()
	ctx := context.Background()
	admin, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	applier, err := kubetest.NewApplier(srv.Config)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kubetest.Decode([]byte(stream))
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]bool{}
	for _, o := range objs {
		if o.GetAPIVersion() == generator.APIVersion || o.GetKind() == "Kptfile" || o.GetKind() == "Kustomization" {
			continue
		}
		if !applier.Has(o) {
			t.Logf("%s %s: kind not served by the test API server, not created", o.GetKind(), o.GetName())
			continue
		}
		o = o.DeepCopy()
		o.SetNamespace(ns)
		stripLocalAnnotations(o)
		if _, err := applier.Create(ctx, o, false); err != nil {
			t.Errorf("the API server refused the rendered %s %s: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		created[o.GetKind()] = true
	}
	for _, k := range []string{"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "ReplicationController", "Job", "CronJob", "ServiceAccount"} {
		if !created[k] {
			t.Errorf("no %s was created from the render", k)
		}
	}
}

// stripLocalAnnotations drops kpt's file-path annotations (not in files on disk, but harmless).
func stripLocalAnnotations(o *unstructured.Unstructured) {
	ann := o.GetAnnotations()
	for k := range ann {
		if strings.HasPrefix(k, "config.kubernetes.io/") || strings.HasPrefix(k, "internal.config.kubernetes.io/") {
			delete(ann, k)
		}
	}
	o.SetAnnotations(ann)
}

// TestInjectionBadInputThroughKustomize: a bound workload whose env is not a
// list fails the build, and kustomize's output (only the function's stderr)
// names the workload and the field.
func TestInjectionBadInputThroughKustomize(t *testing.T) {
	dir := copyDir(t, filepath.Join(repoRoot, injectionDir))
	cluster, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	write(t, dir, "cluster.yaml", strings.Replace(string(cluster), "../../bin/iambind-fn", fnBinary(), 1))
	app, err := os.ReadFile(filepath.Join(dir, "app.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	bad := strings.Replace(string(app), "          env:\n            - name: LOG_LEVEL\n              value: info\n", "          env: {LOG_LEVEL: info}\n", 1)
	if bad == string(app) {
		t.Fatal("test setup: the Deployment's env was not found")
	}
	write(t, dir, "app.yaml", bad)
	_, stderr, err := tryKustomizeBuild(t, dir)
	if err == nil {
		t.Fatal("kustomize build succeeded over a malformed bound workload")
	}
	if want := "Deployment shop/orders: spec.template.spec.containers[0].env: must be a list, got a map"; !strings.Contains(stderr, want) {
		t.Fatalf("stderr does not say %q:\n%s", want, stderr)
	}
}
