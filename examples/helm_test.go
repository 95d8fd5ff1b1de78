package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/iambind/iambind/internal/golden"
	"github.com/iambind/iambind/internal/tooltest"
)

// Helm versions the Makefile installs (make helm): Helm 4 runs iambind-fn as
// a post-renderer plugin, Helm 3 as a --post-renderer executable.
const (
	helmVersion  = "v4.3.2"
	helm3Version = "v3.21.4"
)

// helmBinary returns bin/helm (Helm 4), installing it when it is missing.
func helmBinary(t *testing.T) string {
	return tooltest.Binary(t, "helm", "helm.sh/helm/v4/cmd/helm", helmVersion)
}

// helm3Binary returns bin/helm3. Helm 3's binary is called helm too, so it
// is installed elsewhere and moved, as the Makefile does.
func helm3Binary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(repoRoot, "bin", "helm3")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	tmp := t.TempDir()
	cmd := exec.Command("go", "install", "helm.sh/helm/v3/cmd/helm@"+helm3Version)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing helm %s failed (run `make helm`): %v\n%s", helm3Version, err, out)
	}
	if err := os.Rename(filepath.Join(tmp, "helm"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

// helmEnv is an environment of its own for helm: its config, cache and
// data directories (plugins included) under dir, nothing of the user's, and
// iambind-fn on PATH, as the plugin and --post-renderer iambind-fn expect.
func helmEnv(t *testing.T, dir string) []string {
	t.Helper()
	env := []string{
		"PATH=" + filepath.Dir(fnBinary()) + ":" + os.Getenv("PATH"),
		"HOME=" + dir,
		"HELM_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"HELM_CACHE_HOME=" + filepath.Join(dir, "cache"),
		"HELM_DATA_HOME=" + filepath.Join(dir, "data"),
	}
	return env
}

func runHelm(t *testing.T, helm string, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command(helm, args...)
	cmd.Dir = filepath.Join(repoRoot, "examples", "helm")
	cmd.Env = env
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// The release examples/helm/README.md renders.
var helmRelease = []string{"template", "orders", "./chart", "--namespace", "shop", "-f", "values-prod.yaml"}

// TestHelmPostRenderer renders examples/helm with the real Helm 3
// (--post-renderer iambind-fn), which prints exactly what iambind-fn returns
// (examples/helm/expected.yaml), and Helm 4 (the iambind post-renderer plugin
// of examples/helm/plugin), which renders the same objects.
func TestHelmPostRenderer(t *testing.T) {
	t.Run("helm4-plugin", func(t *testing.T) {
		helm := helmBinary(t)
		dir := t.TempDir()
		env := helmEnv(t, dir)
		// As examples/helm/README.md says (run from examples/helm).
		if _, stderr, err := runHelm(t, helm, env, "plugin", "install", "plugin/iambind"); err != nil {
			t.Fatalf("helm plugin install: %v\n%s", err, stderr)
		}
		out, stderr, err := runHelm(t, helm, env, append(helmRelease, "--post-renderer", "iambind", "--post-renderer-args", "--cluster=cluster.yaml")...)
		if err != nil {
			t.Fatalf("helm template: %v\n%s", err, stderr)
		}
		checkHelmRender(t, out)
		// Helm 4 re-splits what the post-renderer returns (its own "# Source:"
		// comments, its own order): the objects are those Helm 3 installs.
		want, err := os.ReadFile(filepath.Join(repoRoot, "examples", "helm", "expected.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		got, wantObjs := objectsByID(t, out), objectsByID(t, string(want))
		if len(got) != len(wantObjs) {
			t.Errorf("Helm 4 renders %d objects, expected.yaml holds %d", len(got), len(wantObjs))
		}
		for id, obj := range wantObjs {
			if !reflect.DeepEqual(got[id], obj) {
				t.Errorf("%s differs from expected.yaml:\n%v", id, got[id])
			}
		}

		// A failing post-renderer fails the render: without --cluster the binding has no cluster.
		// Helm 4 does not show the plugin's stderr (docs/streams.md says how to read it).
		out, stderr, err = runHelm(t, helm, env, append(helmRelease, "--post-renderer", "iambind")...)
		if err == nil || strings.Contains(out, "kind: Deployment") || !strings.Contains(stderr, `plugin "iambind" exited with error`) {
			t.Errorf("helm template without a cluster: err %v, stdout:\n%s\nstderr:\n%s", err, out, stderr)
		}
	})
	t.Run("helm3-executable", func(t *testing.T) {
		helm := helm3Binary(t)
		env := helmEnv(t, t.TempDir())
		out, stderr, err := runHelm(t, helm, env, append(helmRelease, "--post-renderer", "iambind-fn", "--post-renderer-args", "--cluster=cluster.yaml")...)
		if err != nil {
			t.Fatalf("helm3 template: %v\n%s", err, stderr)
		}
		checkHelmRender(t, out)
		golden.Check(t, filepath.Join(repoRoot, "examples", "helm", "expected.yaml"), out)

		// Helm 3 shows the post-renderer's stderr: the user reads iambind-fn's line.
		_, stderr, err = runHelm(t, helm, env, append(helmRelease, "--post-renderer", "iambind-fn")...)
		if err == nil || !strings.Contains(stderr, "IdentityBinding shop/orders: spec.clusters: no IdentityCluster is in scope") {
			t.Errorf("helm3 template without a cluster: err %v, stderr:\n%s", err, stderr)
		}
	})
}

// checkHelmRender asserts what a post-rendered examples/helm release must
// hold: the chart's ServiceAccount annotated in place (exactly one), the
// Deployment injected, the plan, and no iambind input.
func checkHelmRender(t *testing.T, out string) {
	t.Helper()
	nodes := parse(t, out)
	const arn = "arn:aws:iam::111122223333:role/iambind/shop-orders"
	var sas []*yaml.RNode
	for _, n := range nodes {
		if n.GetKind() == "ServiceAccount" {
			sas = append(sas, n)
		}
		if strings.HasPrefix(n.GetApiVersion(), "iambind.dev/") {
			t.Errorf("%s %s is in what Helm would install", n.GetKind(), n.GetName())
		}
	}
	if len(sas) != 1 || sas[0].GetName() != "orders" {
		t.Fatalf("want exactly the chart's ServiceAccount orders, got %d ServiceAccounts:\n%s", len(sas), out)
	}
	if got := sas[0].GetAnnotations()["eks.amazonaws.com/role-arn"]; got != arn {
		t.Errorf("ServiceAccount orders: role-arn %q, want %q", got, arn)
	}
	if sas[0].GetLabels()["helm.sh/chart"] != "orders-1.4.2" {
		t.Errorf("the chart's labels are gone from its ServiceAccount:\n%s", sas[0].MustString())
	}
	deploy := find(nodes, "Deployment", "shop", "orders")
	if deploy == nil {
		t.Fatalf("no Deployment shop/orders:\n%s", out)
	}
	podSpec, err := deploy.Pipe(yaml.Lookup("spec", "template", "spec"))
	if err != nil || podSpec == nil {
		t.Fatalf("Deployment shop/orders has no pod spec:\n%s", out)
	}
	env := containerEnv(t, podSpec, "orders")
	if env["AWS_ROLE_ARN"] != arn || env["AWS_WEB_IDENTITY_TOKEN_FILE"] != "/var/run/secrets/eks.amazonaws.com/serviceaccount/token" {
		t.Errorf("the Deployment is not injected: env %v", env)
	}
	if find(nodes, "ConfigMap", "shop", "iambind-orders") == nil {
		t.Errorf("no plan ConfigMap shop/iambind-orders:\n%s", out)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	entries, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			copyTree(t, filepath.Join(from, e.Name()), filepath.Join(to, e.Name()))
			continue
		}
		data, err := os.ReadFile(filepath.Join(from, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(to, e.Name()), string(data))
	}
}
