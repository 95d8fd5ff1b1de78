package generator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// Test fixtures: small YAML builders so each test case shows only what it changes.

const (
	testAccount = "111122223333"
	testIssuer  = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	testHost    = "oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
)

// indent prefixes every non-empty line of s with n spaces.
func indent(s string, n int) string {
	pad := strings.Repeat(" ", n)
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

// clusterDoc is an IdentityCluster named name; spec is YAML for its spec
// (empty = a minimal valid spec).
func clusterDoc(name, spec string) string {
	if spec == "" {
		spec = fmt.Sprintf("accountID: %q\nissuer: %s\n", testAccount, testIssuer)
	}
	return fmt.Sprintf("apiVersion: iambind.dev/v1alpha1\nkind: IdentityCluster\nmetadata:\n  name: %s\nspec:\n%s\n", name, indent(spec, 2))
}

// validCluster is a minimal valid cluster spec plus extra YAML lines.
func validCluster(extra string) string {
	return clusterDoc("prod", fmt.Sprintf("accountID: %q\nissuer: %s\n%s", testAccount, testIssuer, extra))
}

// bindingDoc is an IdentityBinding ns/name with the given spec YAML (may be empty).
func bindingDoc(ns, name, spec string) string {
	meta := "  name: " + name + "\n"
	if ns != "" {
		meta += "  namespace: " + ns + "\n"
	}
	if strings.TrimSpace(spec) == "" {
		return "apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata:\n" + meta
	}
	return "apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata:\n" + meta + "spec:\n" + indent(spec, 2) + "\n"
}

// saDoc is a ServiceAccount; annotations is YAML for metadata.annotations (may be empty).
func saDoc(ns, name, annotations string) string {
	s := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: " + name + "\n"
	if ns != "" {
		s += "  namespace: " + ns + "\n"
	}
	if annotations != "" {
		s += "  annotations:\n" + indent(annotations, 4) + "\n"
	}
	return s
}

func parseObjects(t testing.TB, docs ...string) fn.KubeObjects {
	t.Helper()
	if len(docs) == 0 {
		return nil
	}
	objs, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "\n---\n")))
	if err != nil {
		t.Fatalf("parse test input: %v\n%s", err, strings.Join(docs, "\n---\n"))
	}
	return objs
}

func parseObject(t testing.TB, doc string) *fn.KubeObject {
	t.Helper()
	if doc == "" {
		return nil
	}
	objs := parseObjects(t, doc)
	if len(objs) != 1 {
		t.Fatalf("want one object, got %d", len(objs))
	}
	return objs[0]
}

// generate runs Generate over docs with an optional function config.
func generate(t testing.TB, fnConfig string, docs ...string) Output {
	t.Helper()
	return Generate(parseObjects(t, docs...), parseObject(t, fnConfig))
}

// runProcess runs Process over docs and returns the serialized ResourceList.
func runProcess(t testing.TB, fnConfig string, docs ...string) (*fn.ResourceList, bool, string) {
	t.Helper()
	rl := &fn.ResourceList{Items: parseObjects(t, docs...), FunctionConfig: parseObject(t, fnConfig)}
	if rl.FunctionConfig == nil {
		rl.FunctionConfig = fn.NewEmptyKubeObject()
	}
	ok, err := Process(rl)
	if err != nil {
		t.Fatalf("Process returned an error: %v", err)
	}
	items := append(fn.KubeObjects(nil), rl.Items...)
	out, err := rl.ToYAML() // sorts rl.Items in place
	if err != nil {
		t.Fatalf("ToYAML: %v", err)
	}
	rl.Items = items // in the order Process left them
	return rl, ok, string(out)
}

// itemsYAML serializes items (in their order) for byte comparisons.
func itemsYAML(items fn.KubeObjects) string {
	var parts []string
	for _, o := range items {
		parts = append(parts, o.String())
	}
	return strings.Join(parts, "---\n")
}

func problemsString(ps Problems) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	if b.Len() == 0 {
		return "  (none)\n"
	}
	return b.String()
}

// findProblem returns the first problem with severity sev, field path field
// and a message containing fragment.
func findProblem(ps Problems, sev Severity, field, fragment string) (Problem, bool) {
	for _, p := range ps {
		if p.Severity == sev && p.Field == field && strings.Contains(p.Message, fragment) {
			return p, true
		}
	}
	return Problem{}, false
}

func mustProblem(t testing.TB, ps Problems, sev Severity, field, fragment string) Problem {
	t.Helper()
	p, ok := findProblem(ps, sev, field, fragment)
	if !ok {
		t.Fatalf("want a %s at %q containing %q; got:\n%s", sev, field, fragment, problemsString(ps))
	}
	return p
}

func mustNoErrors(t testing.TB, out Output) {
	t.Helper()
	if out.Problems.HasErrors() {
		t.Fatalf("unexpected errors:\n%s", problemsString(out.Problems))
	}
}

// find returns the output object of the given kind, namespace and name.
func find(items fn.KubeObjects, kind, ns, name string) *fn.KubeObject {
	for _, o := range items {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return nil
}

func count(items fn.KubeObjects, kind, ns, name string) int {
	n := 0
	for _, o := range items {
		if o.GetKind() == kind && o.GetNamespace() == ns && o.GetName() == name {
			n++
		}
	}
	return n
}

// planOf returns the decoded role.json and the raw trust-policy.json of a plan ConfigMap.
func planOf(t testing.TB, items fn.KubeObjects, ns, binding string) (Role, string) {
	t.Helper()
	cm := find(items, "ConfigMap", ns, PlanNamePrefix+binding)
	if cm == nil {
		t.Fatalf("no plan ConfigMap %s/%s%s in output:\n%s", ns, PlanNamePrefix, binding, itemsYAML(items))
	}
	roleJSON, _, _ := cm.NestedString("data", PlanKeyRole)
	trustJSON, _, _ := cm.NestedString("data", PlanKeyTrustPolicy)
	var r Role
	if err := json.Unmarshal([]byte(roleJSON), &r); err != nil {
		t.Fatalf("role.json does not parse: %v\n%s", err, roleJSON)
	}
	return r, trustJSON
}

// mustPlan generates and returns the role of binding ns/name, failing on errors.
func mustPlan(t testing.TB, fnConfig string, docs ...string) (Output, Role, string) {
	t.Helper()
	out := generate(t, fnConfig, docs...)
	mustNoErrors(t, out)
	for _, d := range docs {
		o := parseObject(t, d)
		if o.GetKind() == KindBinding {
			ns := o.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			r, trust := planOf(t, out.Items, ns, o.GetName())
			return out, r, trust
		}
	}
	t.Fatal("no binding in docs")
	return out, Role{}, ""
}
