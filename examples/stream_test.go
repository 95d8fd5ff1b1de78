package examples

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/mototest"
)

// pipe runs `name args... | iambind-fn fnArgs...` in dir and returns
// iambind-fn's stdout; it fails the test when either side fails.
func pipe(t *testing.T, dir string, producer []string, fnArgs ...string) string {
	t.Helper()
	out, stderr, err := tryPipe(t, dir, producer, fnArgs...)
	if err != nil {
		t.Fatalf("%s | iambind-fn %s: %v\n%s", strings.Join(producer, " "), strings.Join(fnArgs, " "), err, stderr)
	}
	return out
}

func tryPipe(t *testing.T, dir string, producer []string, fnArgs ...string) (stdout, stderr string, err error) {
	t.Helper()
	first := exec.Command(producer[0], producer[1:]...)
	first.Dir = dir
	var firstErr bytes.Buffer
	first.Stderr = &firstErr
	rendered, err := first.Output()
	if err != nil {
		return "", firstErr.String(), err
	}
	return runStdin(t, dir, rendered, fnBinary(), fnArgs...)
}

func runStdin(t *testing.T, dir string, stdin []byte, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(stdin)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestKustomizePipe: `kustomize build DIR | iambind-fn --cluster cluster.yaml`
// (the form for big repositories: kustomize runs no function) gives the same
// objects, byte for byte, as the exec-transformer build of
// examples/kustomize-transformer.
func TestKustomizePipe(t *testing.T) {
	kustomize := kustomizeBinary(t)
	example := filepath.Join(repoRoot, "examples", "kustomize-transformer")
	transformer := kustomizeBuild(t, "examples/kustomize-transformer")

	// The same resources, no transformers: the IdentityCluster comes from --cluster.
	dir := t.TempDir()
	for _, f := range []string{"app/helm-rendered.yaml", "bindings.yaml", "cluster.yaml"} {
		writeFile(t, filepath.Join(dir, f), "")
		copyFile(t, filepath.Join(example, f), filepath.Join(dir, f))
	}
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), "resources:\n- app/helm-rendered.yaml\n- bindings.yaml\n")
	piped := pipe(t, dir, []string{kustomize, "build", "."}, "--cluster", "cluster.yaml")

	// kustomize writes keys in its own order: compare the objects.
	got, want := objectsByID(t, piped), objectsByID(t, transformer)
	if len(got) != len(want) {
		t.Errorf("the pipe gives %d objects, the transformer build %d:\n--- pipe:\n%s\n--- transformer:\n%s", len(got), len(want), piped, transformer)
	}
	for id, obj := range want {
		if !reflect.DeepEqual(got[id], obj) {
			t.Errorf("%s differs:\npipe: %v\ntransformer: %v", id, got[id], obj)
		}
	}
}

// objectsByID decodes a stream into its objects by kind/namespace/name.
func objectsByID(t *testing.T, stream string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, o := range decode(t, stream) {
		out[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o.Object
	}
	return out
}

// TestArgoCDStreamPlugin runs the generate command of the Argo CD plugin for
// big repositories and charts (examples/argocd/stream) the way argocd-cmp-server
// runs it: in the application's directory, with Argo CD's environment.
func TestArgoCDStreamPlugin(t *testing.T) {
	kustomize := kustomizeBinary(t)
	helm := helmBinary(t)
	plugin := readYAML(t, "examples/argocd/stream/plugin.yaml")[0]
	cmdList, _ := plugin.GetSlice("spec.generate.command")
	command := toStrings(cmdList)
	if len(command) < 3 || command[0] != "sh" || command[1] != "-c" {
		t.Fatalf("generate.command is %q, want [sh -c SCRIPT]", command)
	}
	// The sidecar image's PATH: kustomize, helm and iambind-fn.
	path := t.TempDir()
	for name, bin := range map[string]string{"kustomize": kustomize, "helm": helm, "iambind-fn": fnBinary()} {
		if err := os.Symlink(bin, filepath.Join(path, name)); err != nil {
			t.Fatal(err)
		}
	}
	generate := func(t *testing.T, appDir string, env ...string) string {
		t.Helper()
		cmd := exec.Command(command[0], command[1:]...)
		cmd.Dir = filepath.Join(repoRoot, appDir)
		cmd.Env = append([]string{"PATH=" + path + ":/usr/bin:/bin", "HOME=" + t.TempDir(),
			"ARGOCD_APP_NAME=orders", "ARGOCD_APP_NAMESPACE=shop"}, env...)
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil {
			t.Fatalf("generate in %s: %v\n%s", appDir, err, e.String())
		}
		return o.String()
	}

	t.Run("kustomize", func(t *testing.T) {
		out := generate(t, "examples/argocd/stream/app")
		nodes := parse(t, out)
		sa := find(nodes, "ServiceAccount", "shop", "orders")
		if sa == nil || sa.GetAnnotations()["eks.amazonaws.com/role-arn"] != "arn:aws:iam::111122223333:role/iambind/shop-orders" {
			t.Errorf("ServiceAccount shop/orders is missing or not annotated:\n%s", out)
		}
		if find(nodes, "ConfigMap", "shop", "iambind-orders") == nil {
			t.Errorf("no plan ConfigMap shop/iambind-orders:\n%s", out)
		}
		for _, n := range nodes {
			if strings.HasPrefix(n.GetApiVersion(), "iambind.dev/") {
				t.Errorf("%s %s is in what Argo CD would apply", n.GetKind(), n.GetName())
			}
		}
	})
	t.Run("helm", func(t *testing.T) {
		out := generate(t, "examples/helm/chart",
			"ARGOCD_ENV_IAMBIND_CLUSTER="+filepath.Join(repoRoot, "examples/helm/cluster.yaml"),
			"ARGOCD_ENV_HELM_VALUES="+filepath.Join(repoRoot, "examples/helm/values-prod.yaml"))
		checkHelmRender(t, out)
	})
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestArgoCDStreamComponent adds examples/argocd/stream to a stand-in
// argocd-repo-server: the plugin's ConfigMap and its sidecar, mounting it.
func TestArgoCDStreamComponent(t *testing.T) {
	dir := t.TempDir()
	component, _ := filepath.Rel(dir, filepath.Join(repoRoot, "examples", "argocd", "stream"))
	writeFile(t, filepath.Join(dir, "kustomization.yaml"), "resources: [repo-server.yaml]\ncomponents: ["+component+"]\n")
	writeFile(t, filepath.Join(dir, "repo-server.yaml"), `apiVersion: apps/v1
kind: Deployment
metadata: {name: argocd-repo-server, namespace: argocd}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: argocd-repo-server}}
  template:
    metadata: {labels: {app.kubernetes.io/name: argocd-repo-server}}
    spec:
      containers:
        - name: argocd-repo-server
          image: quay.io/argoproj/argocd:v2.13.0
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
`)
	nodes := parse(t, kustomizeBuild(t, dir))
	var cmName string
	for _, n := range nodes {
		if n.GetKind() == "ConfigMap" {
			cmName = n.GetName()
			data := n.GetDataMap()["plugin.yaml"]
			if !strings.Contains(data, "name: iambind-stream") || !strings.Contains(data, "iambind-fn") {
				t.Errorf("ConfigMap %s does not carry the stream plugin:\n%s", cmName, data)
			}
		}
	}
	deploy := find(nodes, "Deployment", "argocd", "argocd-repo-server")
	if deploy == nil || cmName == "" {
		t.Fatalf("no repo server or no plugin ConfigMap")
	}
	sidecar, err := deploy.Pipe(yaml.Lookup("spec", "template", "spec", "containers", "[name=iambind-stream-cmp]"))
	if err != nil || sidecar == nil {
		t.Fatalf("no iambind-stream-cmp sidecar:\n%s", deploy.MustString())
	}
	volume, err := deploy.Pipe(yaml.Lookup("spec", "template", "spec", "volumes", "[name=iambind-stream-cmp-plugin]", "configMap", "name"))
	if err != nil || volume == nil || yaml.GetValue(volume) != cmName {
		t.Errorf("the sidecar's plugin volume does not name ConfigMap %s:\n%s", cmName, deploy.MustString())
	}
	mount, err := sidecar.Pipe(yaml.Lookup("volumeMounts", "[name=iambind-stream-cmp-plugin]", "mountPath"))
	if err != nil || mount == nil || yaml.GetValue(mount) != "/home/argocd/cmp-server/config/plugin.yaml" {
		t.Errorf("plugin.yaml is not mounted where argocd-cmp-server reads it:\n%s", sidecar.MustString())
	}
}

// TestReadmePipe runs README's whole review pipe over the big-repository
// kustomization of examples/argocd/stream/app, against a moto IAM in the
// example's account: kustomize builds, iambind-fn expands, the rendered
// stream is kept, and iambind plan reads the same bytes.
func TestReadmePipe(t *testing.T) {
	kustomize := kustomizeBinary(t)
	if err := buildIambind(); err != nil {
		t.Fatalf("building iambind: %v", err)
	}
	moto := mototest.StartInAccount(t, "111122223333")
	dir := t.TempDir()
	copyTree(t, filepath.Join(repoRoot, "examples", "argocd", "stream", "app"), dir)
	path := t.TempDir()
	for name, bin := range map[string]string{"kustomize": kustomize, "iambind-fn": fnBinary(), "iambind": filepath.Join(repoRoot, "bin", "iambind")} {
		if err := os.Symlink(bin, filepath.Join(path, name)); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", "-c", "set -o pipefail; kustomize build . | iambind-fn | tee rendered.yaml | iambind plan -f -")
	cmd.Dir = dir
	cmd.Env = append(moto.Env(), "PATH="+path+":/usr/bin:/bin", "HOME="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the pipe failed: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "Plan: 1 to create, 0 to update") || !strings.Contains(string(out), "shop-orders") {
		t.Errorf("iambind plan did not plan the role shop-orders:\n%s", out)
	}
	rendered, err := os.ReadFile(filepath.Join(dir, "rendered.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sa := find(parse(t, string(rendered)), "ServiceAccount", "shop", "orders")
	if sa == nil || sa.GetAnnotations()["eks.amazonaws.com/role-arn"] != "arn:aws:iam::111122223333:role/iambind/shop-orders" {
		t.Errorf("rendered.yaml lacks the annotated ServiceAccount:\n%s", rendered)
	}
}
