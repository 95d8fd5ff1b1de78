package generator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// fuzzCluster is the fixed, valid IdentityCluster every fuzz input runs with.
var fuzzCluster = clusterDoc("prod", "accountID: \"111122223333\"\nissuer: "+testIssuer+"\n")

var fuzzSeeds = []string{
	bindingDoc("shop", "orders", ""),
	bindingDoc("", "orders", "serviceAccounts:\n- name: orders\n- name: worker\n  namespace: batch\n"),
	bindingDoc("shop", "etl", "allowWildcardSubjects: true\nserviceAccounts:\n- name: \"job-*\"\n- name: \"*\"\n  namespace: sandbox\n- name: exact\n"),
	bindingDoc("shop", "orders", "clusters: [prod]\ncreateServiceAccounts: false\naudience: vault\nstsRegionalEndpoints: false\ntokenExpiration: 3600\n"),
	bindingDoc("shop", "orders", "role:\n  name: custom\n  path: /team/\n  description: hi\n  maxSessionDuration: 7200\n  permissionsBoundary: b\n  tags: {team: a}\n"),
	bindingDoc("shop", "orders", "policies:\n  managed: [ReadOnlyAccess, service-role/X, \"arn:aws:iam::111122223333:policy/p\"]\n  inline:\n    p: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"*\", Resource: \"*\"}]}\n    q: '{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Deny\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}'\n"),
	bindingDoc("shop", "orders", "role:\n  maxSesionDuration: 1\nserviceAccounts: {name: a}\n"),
	bindingDoc("shop", "a", "serviceAccounts:\n- name: shared\n") + "---\n" + bindingDoc("shop", "b", "serviceAccounts:\n- name: shared\n"),
	bindingDoc("shop", "orders", "") + "---\n" + saDoc("shop", "orders", "eks.amazonaws.com/role-arn: arn:aws:iam::1:role/x\n"),
	"apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: a}\nx: &a [*a]\n",
	"apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: a}\nspec: {role: {maxSessionDuration: .nan}, tokenExpiration: 1e400}\n",
	bindingDoc("shop", "orders", "podIdentity: {targetAccountID: \"210987654321\", disableSessionTags: true, sessionPolicy: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}}\n"),
	bindingDoc("shop", "orders", "mode: podIdentity\ninject: true\npodIdentity: {targetAccountID: \"111122223333\", sessionPolicy: '{\"Statement\": []}'}\n"),
}

// FuzzDecodeBinding feeds arbitrary bytes, as IdentityBinding YAML, with a
// fixed valid IdentityCluster through Generate. It must never panic; on error
// the items are the input; on success the trust policy parses as JSON and
// names only subjects the bindings declared, and the output is a fixed point.
func FuzzDecodeBinding(f *testing.F) {
	// The golden cases' bindings are seeds too.
	addFuzzSeeds(f, fuzzSeeds, "testdata/golden/*/binding*.yaml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if !fuzzableStream(data) {
			return
		}
		checkFuzzRun(t, data, false)
		// Whatever kind the bytes declared, also decode them as a binding.
		checkFuzzRun(t, data, true)
	})
}

// addFuzzSeeds adds seeds and the files matching glob (golden cases'
// inputs) to f's corpus: every Generate fuzz target seeds itself this way.
func addFuzzSeeds(f *testing.F, seeds []string, glob string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	files, _ := filepath.Glob(glob)
	for _, file := range files {
		if b, err := os.ReadFile(file); err == nil {
			f.Add(b)
		}
	}
}

// fuzzableStream reports whether data parses as one to eight objects, the
// inputs the Generate fuzz targets check.
func fuzzableStream(data []byte) bool {
	objs, err := fn.ParseKubeObjects(data)
	return err == nil && len(objs) > 0 && len(objs) <= 8
}

func checkFuzzRun(t *testing.T, data []byte, forceBinding bool) {
	// Orchestrators hand the function kyaml-serialized items, and kyaml's
	// serialization is not always the identity (an implicit null in a flow
	// mapping, {a: b, c}, is written back as c: ''), so start from the
	// serialized form the function would really see.
	if objs, err := fn.ParseKubeObjects(data); err == nil {
		var docs []string
		for _, o := range objs {
			docs = append(docs, o.String())
		}
		data = []byte(strings.Join(docs, "\n---\n"))
	}
	parse := func() fn.KubeObjects {
		objs, err := fn.ParseKubeObjects(data)
		if err != nil {
			t.Fatalf("second parse failed: %v", err)
		}
		if forceBinding {
			for _, o := range objs {
				if o.SetAPIVersion(APIVersion) != nil || o.SetKind(KindBinding) != nil {
					return nil
				}
			}
		}
		return append(objs, parseObjects(t, fuzzCluster)...)
	}
	input := parse()
	if input == nil {
		return
	}
	want := itemsYAML(input)
	out := Generate(parse(), nil)
	if out.Problems.HasErrors() {
		if got := itemsYAML(out.Items); got != want {
			t.Fatalf("on error the items must be the input:\n got:\n%s\nwant:\n%s", got, want)
		}
		for _, p := range out.Problems {
			if p.Message == "" {
				t.Fatalf("problem without a message: %+v", p)
			}
		}
		return
	}
	declared := declaredSubjects(t, input)
	for _, cm := range out.Items {
		if cm.GetKind() != "ConfigMap" || cm.GetLabel(LabelPlan) != PlanRoleValue {
			continue
		}
		key := cm.GetAnnotation(AnnotationBinding)
		trustText, _, _ := cm.NestedString("data", PlanKeyTrustPolicy)
		var trust PolicyDocument
		if err := json.Unmarshal([]byte(trustText), &trust); err != nil {
			t.Fatalf("trust-policy.json of %s does not parse: %v\n%s", key, err, trustText)
		}
		if len(trust.Statement) == 0 {
			t.Fatalf("trust policy of %s has no statement", key)
		}
		for _, st := range trust.Statement {
			for op, conds := range st.Condition {
				for condKey, values := range conds {
					if !strings.HasPrefix(condKey, testHost+":") {
						t.Fatalf("condition key %q is not on the cluster's issuer", condKey)
					}
					if !strings.HasSuffix(condKey, ":sub") {
						continue
					}
					for _, sub := range values {
						if !declared[key][sub] {
							t.Fatalf("trust policy of %s (%s) admits %q, which it did not declare (declared: %v)", key, op, sub, declared[key])
						}
					}
				}
			}
		}
		roleText, _, _ := cm.NestedString("data", PlanKeyRole)
		var role Role
		if err := json.Unmarshal([]byte(roleText), &role); err != nil {
			t.Fatalf("role.json of %s does not parse: %v", key, err)
		}
		if len(role.Name) > MaxRoleNameLength || !roleNamePattern.MatchString(role.Name) {
			t.Fatalf("invalid role name %q planned", role.Name)
		}
		if compact, _ := MarshalJSON(role.TrustPolicy, false); NonWhitespaceLength(compact) > DefaultMaxTrustPolicySize {
			t.Fatalf("trust policy over the quota passed the guard")
		}
	}
	// A fixed point: the output run again gives the same output.
	var docs []string
	for _, o := range out.Items {
		docs = append(docs, o.String())
	}
	first := itemsYAML(out.Items)
	again := Generate(parseObjects(t, docs...), nil)
	if again.Problems.HasErrors() {
		t.Fatalf("re-run over own output fails:\n%s", problemsString(again.Problems))
	}
	if got := itemsYAML(again.Items); got != first {
		t.Fatalf("re-run over own output differs:\n%s", lineDiff(first, got))
	}
}

// declaredSubjects reads, independently of the decoder, the token subjects
// each binding (by <namespace>/<name>) declares.
func declaredSubjects(t *testing.T, items fn.KubeObjects) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, o := range items {
		if o.GetAPIVersion() != APIVersion || o.GetKind() != KindBinding {
			continue
		}
		ns := o.GetNamespace()
		if ns == "" {
			ns = "default"
		}
		key := ns + "/" + o.GetName()
		set := map[string]bool{}
		sas, _, _ := o.NestedSlice("spec", "serviceAccounts")
		for _, sa := range sas {
			name, _, _ := sa.NestedString("name")
			saNS, _, _ := sa.NestedString("namespace")
			if saNS == "" {
				saNS = ns
			}
			set[SubjectFor(saNS, name)] = true
		}
		if len(sas) == 0 {
			set[SubjectFor(ns, o.GetName())] = true
		}
		out[key] = set
	}
	return out
}
