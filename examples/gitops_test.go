package examples

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/kube"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/kustomize/kyaml/yaml"
)

// TestGitOps proves the GitOps paths against a real API server (etcd +
// kube-apiserver, see internal/kubetest; one server for all subtests): what
// kustomize renders for the transformer example, deploy/, the Argo CD app and
// the Flux hydrated output is accepted by the server, and every iambind
// command line in those examples uses only flags the CLI has.
func TestGitOps(t *testing.T) {
	// deploy/ and the GitOps examples find iambind-fn on PATH, as the Argo CD
	// sidecar and the CI workflow do.
	t.Setenv("PATH", filepath.Join(repoRoot, "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	srv := kubetest.StartT(t)
	env := &gitopsEnv{srv: srv}
	var err error
	if env.admin, err = srv.Client(); err != nil {
		t.Fatal(err)
	}
	if env.applier, err = kubetest.NewApplier(srv.Config); err != nil {
		t.Fatal(err)
	}

	t.Run("KustomizeTransformer", env.testKustomizeTransformer)
	t.Run("Deploy", env.testDeploy)
	t.Run("ArgoCDApp", env.testArgoCDApp)
	t.Run("ArgoCDPlugin", env.testArgoCDPlugin)
	t.Run("FluxHydrated", env.testFluxHydrated)
	t.Run("CommandLines", testCommandLines)
}

type gitopsEnv struct {
	srv     *kubetest.Server
	admin   *kubernetes.Clientset
	applier *kubetest.Applier
}

// decode parses a rendered stream into objects for the API server.
func decode(t *testing.T, stream string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kubetest.Decode([]byte(stream))
	if err != nil {
		t.Fatalf("rendered output is not YAML: %v", err)
	}
	return objs
}

// admit creates the Namespaces for real (dry-run objects need their namespace),
// then every other object with server-side dry-run, and finally the plan
// ConfigMaps for real so they can be listed. It returns the kinds admitted.
func (e *gitopsEnv) admit(t *testing.T, objs []*unstructured.Unstructured) []string {
	t.Helper()
	ctx := context.Background()
	namespaces := map[string]bool{}
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			namespaces[o.GetName()] = true
		} else if ns := o.GetNamespace(); ns != "" {
			namespaces[ns] = true
		}
	}
	for ns := range namespaces {
		_, err := e.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	var kinds []string
	for _, o := range objs {
		if o.GetKind() == "Namespace" {
			continue
		}
		// An object another subtest already created (iambind's own plan, rendered
		// by several examples) was admitted then.
		if _, err := e.applier.Create(ctx, o, true); err != nil && !apierrors.IsAlreadyExists(unwrap(err)) {
			t.Errorf("server-side dry-run rejected it: %v", err)
			continue
		}
		kinds = append(kinds, o.GetKind())
		if o.GetKind() == "ConfigMap" && o.GetLabels()["iambind.dev/plan"] == "role" {
			if _, err := e.applier.Create(ctx, o, false); err != nil && !apierrors.IsAlreadyExists(unwrap(err)) {
				t.Errorf("creating plan: %v", err)
			}
		}
	}
	return kinds
}

func unwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok || u.Unwrap() == nil {
			return err
		}
		err = u.Unwrap()
	}
}

// listedPlans returns namespace/name of the plan ConfigMaps kube.ListPlans finds.
func (e *gitopsEnv) listedPlans(t *testing.T, namespace string) []string {
	t.Helper()
	plans, err := kube.ListPlans(context.Background(), e.admin, "", namespace)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, cm := range plans.ConfigMaps {
		out = append(out, cm.Namespace+"/"+cm.Name)
	}
	return out
}

func (e *gitopsEnv) testKustomizeTransformer(t *testing.T) {
	objs := decode(t, kustomizeBuild(t, "examples/kustomize-transformer"))
	kinds := e.admit(t, objs)
	for _, k := range []string{"ServiceAccount", "ConfigMap", "Deployment"} {
		if !slices.Contains(kinds, k) {
			t.Errorf("no %s was admitted (got %v)", k, kinds)
		}
	}
	got := e.listedPlans(t, "")
	for _, want := range []string{"kube-system/iambind-ebs-csi-controller-sa", "shop/iambind-orders"} {
		if !slices.Contains(got, want) {
			t.Errorf("kube.ListPlans = %v, lacks %s", got, want)
		}
	}
}

func (e *gitopsEnv) testDeploy(t *testing.T) {
	for _, dir := range []string{"deploy", "deploy/cronjob", "deploy/sharded"} {
		objs := decode(t, kustomizeBuild(t, dir))
		e.admit(t, objs)
		var pod map[string]any
		for _, o := range objs {
			switch o.GetKind() {
			case "Job":
				pod, _, _ = unstructured.NestedMap(o.Object, "spec", "template", "spec")
			case "CronJob":
				pod, _, _ = unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec")
			case "ServiceAccount":
				if o.GetAnnotations()[kube.RoleARNAnnotation] != "arn:aws:iam::111122223333:role/iambind-system/iambind-system-iambind" {
					t.Errorf("%s: iambind's ServiceAccount is not annotated by its own binding: %v", dir, o.GetAnnotations())
				}
			}
		}
		if pod == nil {
			t.Fatalf("%s renders no Job or CronJob", dir)
		}
		c := pod["containers"].([]any)[0].(map[string]any)
		sc := c["securityContext"].(map[string]any)
		if sc["runAsNonRoot"] != true || sc["readOnlyRootFilesystem"] != true || sc["allowPrivilegeEscalation"] != false ||
			!slices.Equal(sc["capabilities"].(map[string]any)["drop"].([]any), []any{"ALL"}) {
			t.Errorf("%s: container securityContext = %v", dir, sc)
		}
		if c["image"] != "ghcr.io/iambind/iambind:v0.1.0" || pod["serviceAccountName"] != "iambind" {
			t.Errorf("%s: image %v, serviceAccountName %v", dir, c["image"], pod["serviceAccountName"])
		}
	}
}

func (e *gitopsEnv) testArgoCDApp(t *testing.T) {
	objs := decode(t, kustomizeBuild(t, "examples/argocd/app"))
	wave := func(o *unstructured.Unstructured) string { return o.GetAnnotations()["argocd.argoproj.io/sync-wave"] }
	var plans, workloads int
	for _, o := range objs {
		id := o.GetKind() + " " + o.GetNamespace() + "/" + o.GetName()
		switch {
		case o.GetKind() == "ConfigMap" && o.GetLabels()["iambind.dev/plan"] == "role":
			plans++
			if wave(o) != "-2" {
				t.Errorf("%s: plan in wave %q, want -2", id, wave(o))
			}
		case o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), "iambind-guardrails-"):
			// Mounted by the Job (wave -1): it must exist first.
			if wave(o) != "-2" {
				t.Errorf("%s: wave %q, want -2", id, wave(o))
			}
		case o.GetKind() == "ServiceAccount":
			if wave(o) != "-2" {
				t.Errorf("%s: wave %q, want -2", id, wave(o))
			}
		case o.GetKind() == "Namespace", o.GetKind() == "ClusterRole", o.GetKind() == "ClusterRoleBinding":
			if wave(o) != "-3" {
				t.Errorf("%s: wave %q, want -3", id, wave(o))
			}
		case o.GetKind() == "Job":
			if o.GetAnnotations()["argocd.argoproj.io/hook"] != "Sync" || wave(o) != "-1" {
				t.Errorf("%s: the reconcile Job must be a Sync hook in wave -1: %v", id, o.GetAnnotations())
			}
		case o.GetKind() == "Deployment":
			workloads++
			if wave(o) != "" && wave(o) != "0" {
				t.Errorf("%s: workload in wave %q, want 0", id, wave(o))
			}
		}
	}
	if plans != 2 || workloads != 1 {
		t.Errorf("rendered %d plans and %d workloads, want 2 (iambind's own, checkout) and 1", plans, workloads)
	}
	e.admit(t, objs)
	if got := e.listedPlans(t, "shop"); !slices.Contains(got, "shop/iambind-checkout") {
		t.Errorf("kube.ListPlans(shop) = %v", got)
	}

	app := readYAML(t, "examples/argocd/application.yaml")[0]
	if app.GetKind() != "Application" || app.GetApiVersion() != "argoproj.io/v1alpha1" {
		t.Fatalf("application.yaml holds %s %s", app.GetApiVersion(), app.GetKind())
	}
	path, _ := app.GetString("spec.source.path")
	plugin, _ := app.GetString("spec.source.plugin.name")
	if path != "examples/argocd/app" || plugin != "iambind" {
		t.Errorf("Application source path %q plugin %q", path, plugin)
	}
	if _, err := os.Stat(filepath.Join(repoRoot, path, "kustomization.yaml")); err != nil {
		t.Errorf("the Application's path has no kustomization: %v", err)
	}
}

// testArgoCDPlugin adds the cmp component to a stand-in argocd-repo-server (with
// the volumes the stock one has) and dry-runs the result.
func (e *gitopsEnv) testArgoCDPlugin(t *testing.T) {
	plugin := readYAML(t, "examples/argocd/cmp/plugin.yaml")[0]
	if plugin.GetKind() != "ConfigManagementPlugin" || plugin.GetApiVersion() != "argoproj.io/v1alpha1" || plugin.GetName() != "iambind" {
		t.Errorf("plugin.yaml is %s %s %s", plugin.GetApiVersion(), plugin.GetKind(), plugin.GetName())
	}
	cmd, _ := plugin.GetSlice("spec.generate.command")
	if got := strings.Join(toStrings(cmd), " "); got != "kustomize build --enable-alpha-plugins --enable-exec ." {
		t.Errorf("plugin generate command = %q", got)
	}

	dir := t.TempDir()
	cmp, _ := filepath.Rel(dir, filepath.Join(repoRoot, "examples", "argocd", "cmp"))
	write(t, dir, "kustomization.yaml", "resources: [repo-server.yaml]\ncomponents: ["+cmp+"]\n")
	write(t, dir, "repo-server.yaml", `apiVersion: apps/v1
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
          volumeMounts:
            - {name: var-files, mountPath: /var/run/argocd}
            - {name: plugins, mountPath: /home/argocd/cmp-server/plugins}
      volumes:
        - {name: var-files, emptyDir: {}}
        - {name: plugins, emptyDir: {}}
`)
	objs := decode(t, kustomizeBuild(t, dir))
	var cmName string
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" {
			cmName = o.GetName()
			if data, _, _ := unstructured.NestedString(o.Object, "data", "plugin.yaml"); !strings.Contains(data, "kind: ConfigManagementPlugin") {
				t.Errorf("ConfigMap %s does not carry plugin.yaml", cmName)
			}
		}
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		volumes, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "volumes")
		var names []string
		for _, c := range containers {
			names = append(names, c.(map[string]any)["name"].(string))
		}
		if slices.Sort(names); !slices.Equal(names, []string{"argocd-repo-server", "iambind-cmp"}) {
			t.Errorf("containers = %v, want the repo server and the iambind-cmp sidecar", names)
		}
		found := false
		for _, v := range volumes {
			if cm, ok := v.(map[string]any)["configMap"].(map[string]any); ok && cm["name"] == cmName && strings.HasPrefix(cmName, "iambind-cmp-plugin") {
				found = true
			}
		}
		if !found {
			t.Errorf("no volume mounts the generated ConfigMap %q: %v", cmName, volumes)
		}
	}
	e.admit(t, objs)
}

func (e *gitopsEnv) testFluxHydrated(t *testing.T) {
	out := t.TempDir()
	cmd := filepath.Join(repoRoot, "examples", "flux", "render.sh")
	t.Setenv("KUSTOMIZE", kustomizeBinary(t))
	if _, stderr, err := run(t, repoRoot, cmd, out); err != nil {
		t.Fatalf("render.sh: %v\n%s", err, stderr)
	}
	for _, pkg := range []string{"apps", "iambind-system"} {
		fresh, err := os.ReadFile(filepath.Join(out, pkg, "manifests.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		committed, err := os.ReadFile(filepath.Join(repoRoot, "examples", "flux", "hydrated", pkg, "manifests.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if string(fresh) != string(committed) {
			t.Errorf("examples/flux/hydrated/%s is stale: run `PATH=$PWD/bin:$PATH examples/flux/render.sh` and commit", pkg)
		}
		e.admit(t, decode(t, string(committed)))
	}
	if got := e.listedPlans(t, "reports"); !slices.Equal(got, []string{"reports/iambind-reports"}) {
		t.Errorf("kube.ListPlans(reports) = %v", got)
	}

	// Flux's own objects are CRDs the test server lacks: check their shape and paths.
	for _, o := range readYAML(t, "examples/flux/clusters/production/iambind.yaml") {
		if o.GetKind() != "Kustomization" {
			continue
		}
		path, _ := o.GetString("spec.path")
		if o.GetApiVersion() != "kustomize.toolkit.fluxcd.io/v1" {
			t.Errorf("Kustomization %s: apiVersion %s", o.GetName(), o.GetApiVersion())
		}
		if fi, err := os.Stat(filepath.Join(repoRoot, path)); err != nil || !fi.IsDir() {
			t.Errorf("Kustomization %s: path %s is not a directory of the repo", o.GetName(), path)
		}
	}
	workflow := readYAML(t, "examples/flux/.github/workflows/iambind.yaml")[0]
	if _, err := workflow.Pipe(yaml.Lookup("on", "pull_request")); err != nil {
		t.Error(err)
	}
}

func readYAML(t *testing.T, path string) []*yaml.RNode {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, path))
	if err != nil {
		t.Fatal(err)
	}
	return parse(t, string(data))
}

func toStrings(v []any) []string {
	var out []string
	for _, s := range v {
		out = append(out, s.(string))
	}
	return out
}

// cliFlags are the flags of the iambind CLI, per command, read from the
// real CLI's --help so the examples can never drift from it.
var cliFlags = func() map[string][]string {
	flagRE := regexp.MustCompile(`(?m)^\s+(?:(-\w), )?(--[\w-]+)`)
	out := map[string][]string{}
	for _, cmd := range []string{"plan", "apply", "check", "version"} {
		var help bytes.Buffer
		clitest.Run(context.Background(), []string{cmd, "--help"}, strings.NewReader(""), &help, &help)
		flags := []string{}
		for _, m := range flagRE.FindAllStringSubmatch(help.String(), -1) {
			if m[1] != "" {
				flags = append(flags, m[1])
			}
			flags = append(flags, m[2])
		}
		out[cmd] = flags
	}
	return out
}()

// commandLine matches an iambind invocation in prose, scripts and workflows.
var commandLine = regexp.MustCompile(`(?m)\biambind (plan|apply|check|version)\b([^\n|;&)` + "`" + `]*)`)

// testCommandLines checks every iambind command line in the GitOps examples
// and deploy/ against the CLI's flags: in text (READMEs, workflow, comments)
// and in container args ([/iambind] + args).
func testCommandLines(t *testing.T) {
	if !slices.Contains(cliFlags["apply"], "--from-cluster") || !slices.Contains(cliFlags["check"], "--token") {
		t.Fatalf("could not read the CLI's flags from --help: %v", cliFlags)
	}
	seen := 0
	check := func(where, cmd string, args []string) {
		allowed, ok := cliFlags[cmd]
		if !ok {
			t.Errorf("%s: unknown command iambind %s", where, cmd)
			return
		}
		seen++
		for _, a := range args {
			if !strings.HasPrefix(a, "-") || a == "-" {
				continue
			}
			flag, _, _ := strings.Cut(a, "=")
			if !slices.Contains(allowed, flag) {
				t.Errorf("%s: iambind %s has no flag %s", where, cmd, flag)
			}
		}
	}
	for _, root := range []string{"examples/argocd", "examples/flux", "deploy"} {
		err := filepath.WalkDir(filepath.Join(repoRoot, root), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || strings.HasSuffix(path, "_test.go") || strings.Contains(path, "/hydrated/") {
				return err
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(repoRoot, path)
			for _, m := range commandLine.FindAllStringSubmatch(string(data), -1) {
				check(rel, m[1], strings.Fields(m[2]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// Container args of every rendered Job/CronJob (deploy/ and the examples that use it).
	for _, stream := range []string{kustomizeBuild(t, "deploy"), kustomizeBuild(t, "deploy/cronjob"), kustomizeBuild(t, "deploy/sharded"), kustomizeBuild(t, "examples/argocd/app")} {
		for _, o := range decode(t, stream) {
			var pod map[string]any
			switch o.GetKind() {
			case "Job":
				pod, _, _ = unstructured.NestedMap(o.Object, "spec", "template", "spec")
			case "CronJob":
				pod, _, _ = unstructured.NestedMap(o.Object, "spec", "jobTemplate", "spec", "template", "spec")
			default:
				continue
			}
			for _, c := range pod["containers"].([]any) {
				c := c.(map[string]any)
				args := toStrings(c["args"].([]any))
				if command := toStrings(c["command"].([]any)); !slices.Equal(command, []string{"/iambind"}) || len(args) == 0 {
					t.Errorf("%s %s: command %v", o.GetKind(), o.GetName(), command)
					continue
				}
				check(o.GetKind()+" "+o.GetName(), args[0], args[1:])
			}
		}
	}
	if seen < 8 {
		t.Errorf("found only %d iambind command lines; the examples' Jobs, CronJob, workflow and READMEs hold more", seen)
	}
}
