package generator

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"

	"github.com/kptdev/krm-functions-sdk/go/fn"
)

const ordersARN = "arn:aws:iam::111122223333:role/shop-orders"

// An existing ServiceAccount (from Helm, a base, ...) is annotated in place,
// keeping its own annotations and labels, and never duplicated.
func TestExistingServiceAccountAnnotatedInPlace(t *testing.T) {
	helmSA := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: orders\n  namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: Helm\n  annotations:\n    meta.helm.sh/release-name: orders\n"
	out := generate(t, "", validCluster(""), bindingDoc("shop", "orders", "serviceAccounts:\n- name: orders\n- name: worker\n"), helmSA)
	mustNoErrors(t, out)
	if n := count(out.Items, "ServiceAccount", "shop", "orders"); n != 1 {
		t.Fatalf("ServiceAccount shop/orders appears %d times, want 1:\n%s", n, itemsYAML(out.Items))
	}
	sa := find(out.Items, "ServiceAccount", "shop", "orders")
	want := map[string]string{
		"meta.helm.sh/release-name": "orders",
		AnnotationRoleARN:           ordersARN,
		AnnotationRegionalSTS:       "true",
		AnnotationBinding:           "shop/orders",
	}
	if got := sa.GetAnnotations(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("annotations = %v, want %v", got, want)
	}
	if sa.GetLabel(LabelManagedBy) != "Helm" {
		t.Errorf("the Helm SA's labels must be kept, got %v", sa.GetLabels())
	}
	if _, has := sa.GetAnnotations()["config.kubernetes.io/path"]; has {
		t.Errorf("an SA annotated in place keeps its own file; no path annotation")
	}
	// The other subject is created.
	if count(out.Items, "ServiceAccount", "shop", "worker") != 1 {
		t.Errorf("ServiceAccount shop/worker should be created")
	}
	if !strings.Contains(out.Summary, "1 ServiceAccount created, 1 annotated in place, 1 role planned") {
		t.Errorf("summary = %q", out.Summary)
	}
}

// An SA without a namespace is in "default", like the binding's default.
func TestExistingServiceAccountWithoutNamespace(t *testing.T) {
	out := generate(t, "", validCluster(""), bindingDoc("", "orders", ""), saDoc("", "orders", ""))
	mustNoErrors(t, out)
	if n := len(out.Items.Where(fn.IsGVK("", "v1", "ServiceAccount"))); n != 1 {
		t.Fatalf("want the one existing SA, got %d:\n%s", n, itemsYAML(out.Items))
	}
	sa := out.Items.Where(fn.IsGVK("", "v1", "ServiceAccount"))[0]
	if sa.GetNamespace() != "" || sa.GetAnnotation(AnnotationRoleARN) == "" {
		t.Errorf("the SA keeps no namespace and gets the role:\n%s", sa)
	}
}

func TestExistingServiceAccountRoleConflicts(t *testing.T) {
	cases := []struct {
		name        string
		annotations string
		wantErr     string // "" = accepted
		wantARN     string
	}{
		{"foreign role ARN is an error", AnnotationRoleARN + ": arn:aws:iam::111122223333:role/hand-made\n",
			"ServiceAccount shop/orders is already annotated eks.amazonaws.com/role-arn=arn:aws:iam::111122223333:role/hand-made, not this binding's role " + ordersARN, ""},
		{"the same role ARN set by hand is fine", AnnotationRoleARN + ": " + ordersARN + "\n", "", ordersARN},
		{"an ARN iambind set for another (removed) binding is updated",
			AnnotationRoleARN + ": arn:aws:iam::111122223333:role/old\n" + AnnotationBinding + ": shop/old\n", "", ordersARN},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs := []string{validCluster(""), bindingDoc("shop", "orders", ""), saDoc("shop", "orders", c.annotations)}
			rl, ok, _ := runProcess(t, "", docs...)
			if c.wantErr != "" {
				if ok {
					t.Fatal("Process should return false")
				}
				r := findResult(rl.Results, fn.Error, "spec.serviceAccounts", c.wantErr)
				if r == nil {
					t.Fatalf("no error result %q; results:\n%v", c.wantErr, rl.Results)
				}
				if r.ResourceRef == nil || r.ResourceRef.Kind != KindBinding || r.ResourceRef.Name != "orders" || r.ResourceRef.Namespace != "shop" {
					t.Errorf("result should name the binding: %+v", r.ResourceRef)
				}
				if got, want := itemsYAML(rl.Items), itemsYAML(parseObjects(t, docs...)); got != want {
					t.Errorf("on error the items must be the input, untouched:\n%s", got)
				}
				return
			}
			if !ok {
				t.Fatalf("unexpected failure: %v", rl.Results)
			}
			sa := find(rl.Items, "ServiceAccount", "shop", "orders")
			if sa.GetAnnotation(AnnotationRoleARN) != c.wantARN || sa.GetAnnotation(AnnotationBinding) != "shop/orders" {
				t.Errorf("SA annotations: %v", sa.GetAnnotations())
			}
		})
	}
}

func findResult(results fn.Results, sev fn.Severity, field, fragment string) *fn.Result {
	for _, r := range results {
		if r.Severity == sev && r.Field != nil && r.Field.Path == field && strings.Contains(r.Message, fragment) {
			return r
		}
	}
	return nil
}

func TestTwoBindingsClaimOneServiceAccount(t *testing.T) {
	docs := []string{validCluster(""),
		bindingDoc("shop", "a", "serviceAccounts:\n- name: shared\n"),
		bindingDoc("shop", "b", "serviceAccounts:\n- name: shared\n")}
	out := generate(t, "", docs...)
	p := mustProblem(t, out.Problems, SeverityError, "spec.serviceAccounts",
		"ServiceAccount shop/shared is also claimed by IdentityBinding shop/a; a ServiceAccount can carry only one role")
	if p.Resource.String() != "IdentityBinding shop/b" {
		t.Errorf("the error should be on shop/b and name shop/a: %v", p)
	}
	if itemsYAML(out.Items) != itemsYAML(parseObjects(t, docs...)) {
		t.Error("nothing partial on error")
	}
	// A namespace given explicitly claims the same SA as the default one.
	out = generate(t, "", validCluster(""),
		bindingDoc("shop", "a", "serviceAccounts:\n- name: shared\n"),
		bindingDoc("x", "b", "serviceAccounts:\n- name: shared\n  namespace: shop\n"))
	mustProblem(t, out.Problems, SeverityError, "spec.serviceAccounts", "is also claimed by IdentityBinding shop/a")
}

func TestTwoBindingsOneRoleName(t *testing.T) {
	cases := []struct{ name, a, b string }{
		{"explicit names", "role:\n  name: shared\n", "role:\n  name: shared\n"},
		{"case-insensitive", "role:\n  name: Shared\n", "role:\n  name: shared\n"},
		{"explicit equals derived", "", "role:\n  name: shop-a\n"},
		{"same name on different paths", "role:\n  name: shared\n  path: /x/\n", "role:\n  name: shared\n  path: /y/\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := generate(t, "", validCluster(""), bindingDoc("shop", "a", c.a), bindingDoc("shop", "b", c.b))
			p := mustProblem(t, out.Problems, SeverityError, "spec.role.name", "is also planned by IdentityBinding shop/a; IAM role names are unique per account")
			if p.Resource.String() != "IdentityBinding shop/b" {
				t.Errorf("error on %v, want shop/b", p.Resource)
			}
		})
	}
	// Same name in different accounts is fine.
	other := clusterDoc("other", "accountID: \"444455556666\"\nissuer: https://o.example.com/id/O\n")
	mustNoErrors(t, generate(t, "", validCluster(""), other,
		bindingDoc("shop", "a", "clusters: [prod]\nrole:\n  name: shared\n"),
		bindingDoc("shop", "b", "clusters: [other]\nrole:\n  name: shared\n")))
}

func TestCreateServiceAccountsFalse(t *testing.T) {
	out := generate(t, "", validCluster(""), bindingDoc("shop", "orders", "createServiceAccounts: false\nserviceAccounts:\n- name: orders\n- name: present\n"), saDoc("shop", "present", ""))
	mustNoErrors(t, out)
	mustProblem(t, out.Problems, SeverityWarning, "spec.serviceAccounts", "ServiceAccount shop/orders is not in the input and createServiceAccounts is false")
	if find(out.Items, "ServiceAccount", "shop", "orders") != nil {
		t.Error("no ServiceAccount may be emitted when createServiceAccounts is false")
	}
	if sa := find(out.Items, "ServiceAccount", "shop", "present"); sa == nil || sa.GetAnnotation(AnnotationRoleARN) != ordersARN {
		t.Error("an existing SA is still annotated when createServiceAccounts is false")
	}
	if find(out.Items, "ConfigMap", "shop", "iambind-orders") == nil {
		t.Error("the plan is still emitted")
	}
	// Warnings reach the KRM results, and the run succeeds.
	rl, ok, _ := runProcess(t, "", validCluster(""), bindingDoc("shop", "orders", "createServiceAccounts: false\n"))
	if !ok || findResult(rl.Results, fn.Warning, "spec.serviceAccounts", "createServiceAccounts is false") == nil {
		t.Errorf("want success with a warning result, got ok=%v %v", ok, rl.Results)
	}
}

func TestWildcardsNeverGenerateServiceAccounts(t *testing.T) {
	out, _, trust := mustPlan(t, "", validCluster(""), bindingDoc("shop", "etl", "allowWildcardSubjects: true\nserviceAccounts:\n- name: \"job-*\"\n- name: \"*\"\n  namespace: batch\n"))
	if n := len(out.Items.Where(fn.IsGVK("", "v1", "ServiceAccount"))); n != 0 {
		t.Errorf("wildcards must not generate ServiceAccounts, got %d", n)
	}
	if !strings.Contains(trust, `"StringLike"`) || !strings.Contains(trust, "system:serviceaccount:batch:*") || !strings.Contains(trust, "system:serviceaccount:shop:job-*") {
		t.Errorf("wildcards belong in StringLike:\n%s", trust)
	}
	if strings.Contains(trust, `"`+testHost+`:sub": "system`) && strings.Count(trust, `"Effect"`) != 1 {
		t.Errorf("only-wildcard bindings have one statement:\n%s", trust)
	}
}

// Output items: clusters and bindings pass through marked local-config; other
// items pass through byte-identical, comments and formatting included.
func TestPassThrough(t *testing.T) {
	deployment := `# the web app
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # inline comment
  namespace: shop
  annotations:
    note: "quoted"
    other: 'single'
spec:
  replicas: 3
  template:
    spec:
      serviceAccountName: orders
      containers:
      - {name: web, image: "nginx:1.27"}
`
	kptfile := "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\npipeline:\n  mutators:\n  - exec: ./iambind-fn\n"
	userSA := saDoc("shop", "unrelated", "keep: me\n"+AnnotationRoleARN+": arn:aws:iam::111122223333:role/mine\n")
	userCM := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: shop\n  labels:\n    app.kubernetes.io/managed-by: iambind\ndata:\n  a: b\n"
	others := []string{deployment, kptfile, userSA, userCM}
	before := map[string]string{}
	for _, d := range others {
		o := parseObject(t, d)
		before[o.GetKind()+"/"+o.GetName()] = o.String()
	}
	out := generate(t, "", append([]string{validCluster(""), bindingDoc("shop", "orders", "")}, others...)...)
	mustNoErrors(t, out)
	for key, want := range before {
		kind, name, _ := strings.Cut(key, "/")
		var got *fn.KubeObject
		for _, o := range out.Items {
			if o.GetKind() == kind && o.GetName() == name {
				got = o
			}
		}
		if got == nil {
			t.Errorf("%s is missing from the output (a deleted file in kpt)", key)
			continue
		}
		if got.String() != want {
			t.Errorf("%s changed:\n got:\n%s\nwant:\n%s", key, got.String(), want)
		}
	}
	for _, kind := range []string{KindCluster, KindBinding} {
		objs := out.Items.Where(fn.IsGVK(Group, Version, kind))
		if len(objs) != 1 || objs[0].GetAnnotation(AnnotationLocalConfig) != "true" {
			t.Errorf("%s should pass through with %s: \"true\"", kind, AnnotationLocalConfig)
		}
	}
	if want := 4 + 2 + 2; len(out.Items) != want {
		t.Errorf("output has %d items, want %d (4 others, cluster, binding, plan, SA)", len(out.Items), want)
	}
}

// Generated objects carry kpt path annotations under iambind/.
func TestGeneratedPaths(t *testing.T) {
	out, _, _ := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", "serviceAccounts:\n- name: b\n- name: a\n"))
	for _, c := range []struct{ kind, name, index string }{
		{"ConfigMap", "iambind-orders", "0"}, {"ServiceAccount", "a", "1"}, {"ServiceAccount", "b", "2"},
	} {
		o := find(out.Items, c.kind, "shop", c.name)
		if o == nil {
			t.Fatalf("missing %s %s", c.kind, c.name)
		}
		for _, k := range []string{"config.kubernetes.io/path", "internal.config.kubernetes.io/path"} {
			if got := o.GetAnnotation(k); got != "iambind/shop/orders.yaml" {
				t.Errorf("%s %s: %s = %q", c.kind, c.name, k, got)
			}
		}
		for _, k := range []string{"config.kubernetes.io/index", "internal.config.kubernetes.io/index"} {
			if got := o.GetAnnotation(k); got != c.index {
				t.Errorf("%s %s: %s = %q, want %q", c.kind, c.name, k, got, c.index)
			}
		}
	}
	cm := find(out.Items, "ConfigMap", "shop", "iambind-orders")
	if cm.GetLabel(LabelPlan) != PlanRoleValue || cm.GetLabel(LabelManagedBy) != ManagedByValue ||
		cm.GetAnnotation(AnnotationPlanRoleARN) != ordersARN || cm.GetAnnotation(AnnotationBinding) != "shop/orders" {
		t.Errorf("plan ConfigMap metadata:\n%s", cm)
	}
}

// trust-policy.json is role.json's trustPolicy, pretty-printed with 2 spaces.
func TestPlanTrustPolicyMatchesRole(t *testing.T) {
	_, role, trust := mustPlan(t, "", validCluster(""), bindingDoc("shop", "orders", "serviceAccounts:\n- name: a\n- name: b\n"))
	want, _ := MarshalJSON(role.TrustPolicy, true)
	if trust != string(want)+"\n" {
		t.Errorf("trust-policy.json:\n%s\nrole.json trustPolicy:\n%s", trust, want)
	}
	if !strings.HasPrefix(trust, "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [") {
		t.Errorf("trust-policy.json should start with Version, 2-space indent:\n%s", trust)
	}
}

// richInput is a stream that exercises maps everywhere (tags, inline
// policies, annotations), several bindings, namespaces and clusters.
func richInput() []string {
	docs := []string{
		clusterDoc("alpha", fmt.Sprintf("accountID: %q\nissuer: https://oidc.alpha.example.com/id/A\nrolePath: /iambind/\ntags:\n  z: \"1\"\n  a: \"2\"\n  m: \"3\"\n", testAccount)),
		clusterDoc("beta", fmt.Sprintf("accountID: %q\nissuer: https://oidc.beta.example.com/id/B\n", testAccount)),
		saDoc("shop", "helm-sa", "meta.helm.sh/release-name: shop\nz-last: x\na-first: y\n"),
	}
	for i := 0; i < 8; i++ {
		docs = append(docs, bindingDoc(fmt.Sprintf("ns%d", i%3), fmt.Sprintf("b%d", i), fmt.Sprintf(`clusters: [beta, alpha]
serviceAccounts:
- name: sa-%d-z
- name: sa-%d-a
  namespace: other-%d
- name: sa-%d-m
role:
  tags: {k%d: v, team: t, zz: last, aa: first}
policies:
  managed: [ReadOnlyAccess, "arn:aws:iam::111122223333:policy/p%d", AmazonS3ReadOnlyAccess]
  inline:
    zz: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: [s3:b, s3:a], Resource: "*", Condition: {StringEquals: {z: "1", a: "2"}}}]}
    aa: '{"Version":"2012-10-17","Statement":[{"Resource":"*","Action":"sqs:*","Effect":"Allow"}]}'
`, i, i, i, i, i, i)))
	}
	docs = append(docs, bindingDoc("shop", "helm", "clusters: [alpha]\nserviceAccounts:\n- name: helm-sa\n"))
	return docs
}

// The same input gives byte-identical output, run after run.
func TestDeterministic(t *testing.T) {
	docs := richInput()
	_, ok, first := runProcess(t, "", docs...)
	if !ok {
		t.Fatalf("rich input should succeed:\n%s", first)
	}
	for i := 0; i < 20; i++ {
		if _, _, again := runProcess(t, "", docs...); again != first {
			t.Fatalf("run %d differs from run 0:\n%s", i+1, lineDiff(first, again))
		}
	}
	// The input order of items does not change the output either.
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 5; i++ {
		shuffled := append([]string(nil), docs...)
		r.Shuffle(len(shuffled), func(a, b int) { shuffled[a], shuffled[b] = shuffled[b], shuffled[a] })
		if _, _, again := runProcess(t, "", shuffled...); again != first {
			t.Fatalf("shuffled input %d gives different output:\n%s", i, lineDiff(first, again))
		}
	}
}

// lineDiff shows the first differing line of two texts.
func lineDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(la) && i < len(lb); i++ {
		if la[i] != lb[i] {
			return fmt.Sprintf("line %d:\n- %s\n+ %s", i+1, la[i], lb[i])
		}
	}
	return fmt.Sprintf("lengths differ: %d vs %d lines", len(la), len(lb))
}

// resultListItems parses the items of a serialized ResourceList.
func resultListItems(t *testing.T, rlYAML string) fn.KubeObjects {
	t.Helper()
	rl, err := fn.ParseResourceList([]byte(rlYAML))
	if err != nil {
		t.Fatal(err)
	}
	return rl.Items
}

// processItems runs Process over items (serialized and parsed again, as a
// pipeline would) and returns the serialized output.
func processYAML(t *testing.T, items fn.KubeObjects) (bool, string) {
	t.Helper()
	var docs []string
	for _, o := range items {
		docs = append(docs, o.String())
	}
	_, ok, out := runProcess(t, "", docs...)
	return ok, out
}

// Running the function over its own output changes nothing.
func TestFixedPoint(t *testing.T) {
	_, ok, first := runProcess(t, "", richInput()...)
	if !ok {
		t.Fatal("rich input should succeed")
	}
	items := resultListItems(t, first)
	for i := 0; i < 3; i++ {
		ok, again := processYAML(t, items)
		if !ok || again != first {
			t.Fatalf("re-run %d over own output differs:\n%s", i+1, lineDiff(first, again))
		}
		items = resultListItems(t, again)
	}
}

// A binding removed from the previous output takes what it generated with it.
func TestRemovedBinding(t *testing.T) {
	helmSA := saDoc("shop", "orders", "meta.helm.sh/release-name: orders\nuser/own: kept\n")
	bareSA := saDoc("shop", "bare", "")
	docs := []string{validCluster(""),
		bindingDoc("shop", "orders", "audience: vault\ntokenExpiration: 3600\nserviceAccounts:\n- name: orders\n- name: bare\n- name: created\n"),
		bindingDoc("shop", "stays", ""),
		helmSA, bareSA}
	_, ok, first := runProcess(t, "", docs...)
	if !ok {
		t.Fatalf("first run failed:\n%s", first)
	}
	prev := resultListItems(t, first)
	sa := find(prev, "ServiceAccount", "shop", "orders")
	for _, k := range serviceAccountAnnotations {
		if sa.GetAnnotation(k) == "" {
			t.Fatalf("precondition: the Helm SA should carry every iambind annotation, missing %s:\n%s", k, sa)
		}
	}
	stayedBefore := map[string]string{}
	for _, key := range []string{"ConfigMap/iambind-stays", "ServiceAccount/stays"} {
		kind, name, _ := strings.Cut(key, "/")
		stayedBefore[key] = find(prev, kind, "shop", name).String()
	}

	// Delete the binding from the previous output and run again.
	var next fn.KubeObjects
	for _, o := range prev {
		if !(o.GetKind() == KindBinding && o.GetName() == "orders") {
			next = append(next, o)
		}
	}
	ok, second := processYAML(t, next)
	if !ok {
		t.Fatalf("second run failed:\n%s", second)
	}
	after := resultListItems(t, second)
	if find(after, "ConfigMap", "shop", "iambind-orders") != nil {
		t.Error("the removed binding's plan ConfigMap must disappear")
	}
	if find(after, "ServiceAccount", "shop", "created") != nil {
		t.Error("the ServiceAccount the removed binding created must disappear")
	}
	// SAs it only annotated lose exactly iambind's annotations.
	if got, want := find(after, "ServiceAccount", "shop", "orders").String(), parseObject(t, helmSA).String(); got != want {
		t.Errorf("the Helm SA should be back to its own annotations:\n got:\n%s\nwant:\n%s", got, want)
	}
	if got, want := find(after, "ServiceAccount", "shop", "bare").String(), parseObject(t, bareSA).String(); got != want {
		t.Errorf("an SA without annotations should lose the annotations block:\n got:\n%s\nwant:\n%s", got, want)
	}
	// The other binding's output is untouched.
	for key, want := range stayedBefore {
		kind, name, _ := strings.Cut(key, "/")
		if o := find(after, kind, "shop", name); o == nil || o.String() != want {
			t.Errorf("%s of the remaining binding changed", key)
		}
	}
	// And the result is itself a fixed point.
	if ok, third := processYAML(t, after); !ok || third != second {
		t.Errorf("the run after removal is not a fixed point:\n%s", lineDiff(second, third))
	}
}

// On any error, the items are exactly the input and Process returns false,
// even when other bindings are fine.
func TestNothingPartialOnError(t *testing.T) {
	docs := append(richInput(), bindingDoc("shop", "broken", "clusters: [alpha]\nrole:\n  maxSessionDuration: 1\n"))
	rl, ok, out := runProcess(t, "", docs...)
	if ok {
		t.Fatal("Process should return false")
	}
	if got, want := itemsYAML(rl.Items), itemsYAML(parseObjects(t, docs...)); got != want {
		t.Errorf("items changed on error:\n%s", lineDiff(want, got))
	}
	r := findResult(rl.Results, fn.Error, "spec.role.maxSessionDuration", "1 is outside")
	if r == nil || r.ResourceRef == nil || r.ResourceRef.Name != "broken" || r.ResourceRef.Namespace != "shop" || r.ResourceRef.Kind != KindBinding || r.ResourceRef.APIVersion != APIVersion {
		t.Errorf("want an error result naming IdentityBinding shop/broken; got %v", rl.Results)
	}
	for _, r := range rl.Results {
		if r.Severity == fn.Info {
			t.Errorf("no summary on error: %v", r)
		}
	}
	if strings.Contains(out, "iambind-b0") {
		t.Error("no plan may be emitted on error")
	}
}

// Results from an earlier run are dropped, so re-runs are stable.
func TestProcessDropsOldResults(t *testing.T) {
	rl := &fn.ResourceList{Items: parseObjects(t, validCluster(""), bindingDoc("shop", "orders", "")), FunctionConfig: fn.NewEmptyKubeObject(),
		Results: fn.Results{{Severity: fn.Error, Message: "stale"}}}
	ok, err := Process(rl)
	if !ok || err != nil {
		t.Fatalf("Process = %v, %v", ok, err)
	}
	if len(rl.Results) != 1 || rl.Results[0].Severity != fn.Info || !strings.Contains(rl.Results[0].Message, "1 role planned") {
		t.Errorf("results = %v", rl.Results)
	}
}

// Regression (found by FuzzDecodeBinding): an empty `annotations:` (null) on
// a binding, cluster or ServiceAccount made the function panic when it set
// local-config or the role annotations.
func TestEmptyOrBadAnnotations(t *testing.T) {
	nullAnn := func(doc string) string {
		return strings.Replace(doc, "metadata:\n", "metadata:\n  annotations:\n", 1)
	}
	docs := []string{nullAnn(validCluster("")), nullAnn(bindingDoc("shop", "orders", "serviceAccounts:\n- name: orders\n- name: other\n")),
		nullAnn(saDoc("shop", "orders", "")), nullAnn(saDoc("shop", "unclaimed", ""))}
	rl, ok, first := runProcess(t, "", docs...)
	if !ok {
		t.Fatalf("null annotations should be accepted: %v", rl.Results)
	}
	if sa := find(rl.Items, "ServiceAccount", "shop", "orders"); sa.GetAnnotation(AnnotationRoleARN) != ordersARN {
		t.Errorf("SA with empty annotations not annotated:\n%s", sa)
	}
	if got, want := find(rl.Items, "ServiceAccount", "shop", "unclaimed").String(), parseObject(t, docs[3]).String(); got != want {
		t.Errorf("an unclaimed SA must pass through untouched:\n%s", got)
	}
	if ok, again := processYAML(t, resultListItems(t, first)); !ok || again != first {
		t.Errorf("not a fixed point:\n%s", lineDiff(first, again))
	}

	// Annotations that are not a map of strings cannot be annotated: an error, not a crash.
	bad := "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: orders\n  namespace: shop\n  annotations: [a, b]\n"
	docs = []string{validCluster(""), bindingDoc("shop", "orders", ""), bad}
	out := generate(t, "", docs...)
	p := mustProblem(t, out.Problems, SeverityError, "metadata.annotations", "must be a map of strings")
	if p.Resource.String() != "ServiceAccount shop/orders" {
		t.Errorf("problem on %v", p.Resource)
	}
	if itemsYAML(out.Items) != itemsYAML(parseObjects(t, docs...)) {
		t.Error("nothing partial on error")
	}

	// YAML aliases in metadata make the KRM SDK panic on read: Process
	// reports an error result instead of crashing, items untouched.
	aliased := "apiVersion: v1\nkind: ServiceAccount\nx: &a {k: v}\nmetadata:\n  name: orders\n  namespace: shop\n  annotations: *a\n"
	docs = []string{validCluster(""), bindingDoc("shop", "orders", ""), aliased}
	rl = &fn.ResourceList{Items: parseObjects(t, docs...), FunctionConfig: fn.NewEmptyKubeObject()}
	ok, err := Process(rl)
	if ok || err != nil || len(rl.Results) != 1 || rl.Results[0].Severity != fn.Error || !strings.Contains(rl.Results[0].Message, "YAML anchors and aliases") {
		t.Fatalf("Process = %v, %v, %v", ok, err, rl.Results)
	}
	if itemsYAML(rl.Items) != itemsYAML(parseObjects(t, docs...)) {
		t.Error("items changed")
	}
}
