package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/bench/synth"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/guardrails"
	"github.com/iambind/iambind/internal/krmstream"
)

// streamRun is one in-process run of stream mode.
type streamRun struct {
	stdout, stderr string
	code           int
	setAside       int // documents the read set aside
}

// runInProcess runs stream mode over input, setting bystanders aside or not.
func runInProcess(t *testing.T, input []byte, opts options, setAside bool) streamRun {
	t.Helper()
	var r streamRun
	var aside atomic.Int64 // documents set aside
	read := krmstream.ReadInput
	if setAside {
		read = func(rd io.Reader) (*krmstream.Input, error) {
			return krmstream.ReadInputSettingAside(rd, func(apiVersion, kind, text string) bool {
				ok := generator.Bystander(apiVersion, kind, text)
				if ok {
					aside.Add(1)
				}
				return ok
			})
		}
	}
	in, err := read(bytes.NewReader(input))
	if err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	r.code = runStream(guardrails.Options(), in, opts, &out, &errOut)
	r.stdout, r.stderr, r.setAside = out.String(), errOut.String(), int(aside.Load())
	return r
}

// sameWithAndWithoutSetAside checks that setting bystanders aside changes
// nothing a user sees: stdout, stderr and the exit code are those of a run
// that parses every document. It returns how many documents were set aside.
func sameWithAndWithoutSetAside(t *testing.T, input []byte, opts options) int {
	t.Helper()
	want := runInProcess(t, input, opts, false)
	got := runInProcess(t, input, opts, true)
	if got.code != want.code {
		t.Errorf("exit code %d with bystanders set aside, %d without", got.code, want.code)
	}
	if got.stderr != want.stderr {
		t.Errorf("stderr with bystanders set aside:\n%s\nwithout:\n%s", got.stderr, want.stderr)
	}
	if got.stdout != want.stdout {
		t.Errorf("stdout differs with bystanders set aside:\n%s", firstLineDiff(want.stdout, got.stdout))
	}
	return got.setAside
}

func firstLineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d: want %q, got %q", i+1, wl, gl)
		}
	}
	return "(equal)"
}

// Every stream case of the test data gives the same output whether the
// bystanders are set aside or not.
func TestSetAsideChangesNothingOnTheStreamCases(t *testing.T) {
	inputs, err := filepath.Glob("testdata/stream/*/input.yaml")
	if err != nil {
		t.Fatal(err)
	}
	setAside := 0
	for _, path := range inputs {
		dir := filepath.Dir(path)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			opts, err := parseFlags(caseArgs(t, dir))
			if err != nil {
				t.Skip("a case of bad flags: stream mode does not run")
			}
			for i, f := range opts.clusterFiles {
				opts.clusterFiles[i] = filepath.Join(dir, f)
			}
			input, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			setAside += sameWithAndWithoutSetAside(t, input, opts)
		})
	}
	if setAside < 3 {
		t.Errorf("only %d documents of the stream cases were set aside: the comparison tests little", setAside)
	}
}

// The synthetic streams of the benchmarks, with injection off (most
// documents set aside) and on (taken back), give the same output either way.
func TestSetAsideChangesNothingOnSyntheticStreams(t *testing.T) {
	for _, c := range []struct {
		name string
		opts synth.Options
	}{
		{"plain", synth.Options{}},
		{"inject", synth.Options{Inject: true}},
		{"pod-identity-inject", synth.Options{Inject: true, PodIdentity: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if n := sameWithAndWithoutSetAside(t, synth.Stream(300, c.opts), options{}); n < 200 {
				t.Errorf("%d documents set aside, want most of the 300", n)
			}
		})
	}
}

// The set-aside is fooled by nothing a stream can hold: each case below is
// built to make a set-aside run differ from a full one, around one edge of
// generator.Bystander, the plain-YAML recognizer or the splicing.
func TestSetAsideEdges(t *testing.T) {
	cluster := "apiVersion: iambind.dev/v1alpha1\nkind: IdentityCluster\nmetadata:\n  name: prod\nspec:\n  accountID: \"111122223333\"\n  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\n%s"
	binding := "apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  clusters:\n  - prod\n  serviceAccounts:\n  - name: app\n%s"
	deployment := func(meta, podAnnotations string) string {
		return "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\n" + meta +
			"spec:\n  template:\n    metadata:\n" + podAnnotations + "      labels:\n        app: web\n    spec:\n      containers:\n      - image: web:1\n        name: web\n      serviceAccountName: app\n"
	}
	plainConfigMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\ndata:\n  a: b\n"
	service := "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports:\n  - port: 80\n"
	kustomizeID := "  annotations:\n    kustomize.config.k8s.io/id: |\n      kind: X\n"
	stream := func(docs ...string) []byte { return []byte(strings.Join(docs, "---\n")) }

	cases := []struct {
		name  string
		input []byte
		// aside is whether documents must be set aside: a case that sets
		// nothing aside compares two full runs.
		aside bool
	}{
		{"bystanders around the binding", stream(service, fmt.Sprintf(cluster, ""), deployment("", ""), plainConfigMap, fmt.Sprintf(binding, ""), service), true},
		{"only bystanders", stream(service, plainConfigMap, fmt.Sprintf(cluster, "")), true},
		{"injection on the binding", stream(deployment("", ""), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "  inject: true\n"), service), true},
		{"injection on the cluster", stream(deployment("", ""), fmt.Sprintf(cluster, "  inject: true\n"), fmt.Sprintf(binding, ""), service), true},
		{"an injection marker spelt with an escape", stream(deployment("", "      annotations:\n        \"\\x69ambind.dev/injected\": \"volume\"\n"), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), service), true},
		{"an injection marker left by a removed binding", stream(deployment("", "      annotations:\n        iambind.dev/injected: 'volume; web: mount AWS_ROLE_ARN'\n"), fmt.Sprintf(cluster, ""), service), true},
		{"a ConfigMap named like a plan", stream(strings.Replace(plainConfigMap, "web-config", "iambind-app", 1), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), service), true},
		{"a ConfigMap named like a plan, spelt with an escape", stream(strings.Replace(plainConfigMap, "web-config", "\"\\x69ambind-app\"", 1), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), service), true},
		{"kustomize's id on every object but the bystanders", stream(
			strings.Replace(fmt.Sprintf(cluster, ""), "  name: prod\n", "  name: prod\n"+kustomizeID, 1),
			strings.Replace(fmt.Sprintf(binding, ""), "  name: app\n", "  name: app\n"+kustomizeID, 1),
			plainConfigMap), true},
		{"kustomize's id on a bystander", stream(deployment(kustomizeID, ""), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), false},
		{"a List", stream("apiVersion: v1\nkind: List\nitems:\n- "+strings.ReplaceAll(strings.TrimSuffix(service, "\n"), "\n", "\n  ")+"\n", fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), false},
		{"a directive", stream(service, "%YAML 1.2\n---\n"+plainConfigMap, fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), true},
		{"kpt's file annotations", stream(strings.Replace(service, "  name: web\n", "  annotations:\n    internal.config.kubernetes.io/path: web.yaml\n  name: web\n", 1), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), false},
		{"empty annotations", stream(strings.Replace(service, "  name: web\n", "  annotations: {}\n  name: web\n", 1), fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), false},
		{"invalid YAML after the bystanders", stream(service, plainConfigMap, "a: [b\n", fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "")), true},
		{"a bad binding among bystanders", stream(service, fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, "  nope: 1\n"), plainConfigMap), true},
		{"CRLF line ends", bytes.ReplaceAll(stream(service, fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), plainConfigMap), []byte("\n"), []byte("\r\n")), true},
		{"empty and comment-only documents", stream("", "# nothing\n", service, "\n", fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), plainConfigMap, ""), true},
		{"no final line break", bytes.TrimSuffix(stream(fmt.Sprintf(cluster, ""), fmt.Sprintf(binding, ""), plainConfigMap), []byte("\n")), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := sameWithAndWithoutSetAside(t, c.input, options{})
			if c.aside && n == 0 {
				t.Errorf("nothing was set aside: the case does not test what it says")
			}
		})
	}
	// The output of one run, with its inputs kept, run again.
	first := runInProcess(t, cases[0].input, options{keepInputs: true}, true)
	if first.code != 0 {
		t.Fatalf("exit %d: %s", first.code, first.stderr)
	}
	sameWithAndWithoutSetAside(t, []byte(first.stdout), options{keepInputs: true})
}

// Where a binding injects although mayInject saw no sign of it, Generate
// refuses to run without the bystanders and the stream is run again whole:
// the output is still that of a full run.
func TestSetAsideFallsBackWhenABindingInjectsUnannounced(t *testing.T) {
	saved := injectionCheck
	injectionCheck = func(fn.KubeObjects) bool { return false }
	defer func() { injectionCheck = saved }()
	input := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    spec:\n      containers:\n      - image: web:1\n        name: web\n      serviceAccountName: app\n---\n" +
		"apiVersion: iambind.dev/v1alpha1\nkind: IdentityCluster\nmetadata:\n  name: prod\nspec:\n  accountID: \"111122223333\"\n  issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E\n---\n" +
		"apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata:\n  name: app\n  namespace: shop\nspec:\n  clusters:\n  - prod\n  inject: true\n  serviceAccounts:\n  - name: app\n")
	if n := sameWithAndWithoutSetAside(t, input, options{}); n == 0 {
		t.Fatal("nothing was set aside")
	}
	if r := runInProcess(t, input, options{}, true); !strings.Contains(r.stdout, generator.AnnotationInjected) {
		t.Errorf("the Deployment was not injected:\n%s", r.stdout)
	}
}
