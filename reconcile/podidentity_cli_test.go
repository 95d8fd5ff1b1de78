package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/cmdtest"
	"github.com/iambind/iambind/internal/eksfake"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/change"
)

// These tests run the built iambind binary against moto (IAM, STS) and the
// loopback EKS server (internal/eksfake): the EKS side is checked against
// that server, written from the API model, not against AWS.

const eksRegion = "us-west-2"

func eksClusterYAML(name, eksName string) string {
	return clusterYAML(name, testIssuer) + "  region: " + eksRegion + "\n  eksClusterName: " + eksName + "\n"
}

// modeBinding is binding shop/orders of shop/orders and shop-batch/worker (or sas) in a mode.
func modeBinding(mode string, sas ...string) string {
	if len(sas) == 0 {
		sas = []string{"shop/orders", "shop-batch/worker"}
	}
	return namedBinding("shop", "orders", mode, sas...)
}

func namedBinding(ns, name, mode string, sas ...string) string {
	s := `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  mode: ` + mode + `
  policies:
    managed: [AmazonS3ReadOnlyAccess]
  serviceAccounts:
`
	for _, sa := range sas {
		ns, name, _ := strings.Cut(sa, "/")
		s += "  - {name: " + name + ", namespace: " + ns + "}\n"
	}
	return s
}

type piEnv struct {
	t    *testing.T
	bin  string
	env  []string
	moto *mototest.Server
	eks  *eksfake.Server
	iam  *iam.Client
	eksc *eks.Client
}

func newPIEnv(t *testing.T) *piEnv {
	if testing.Short() {
		t.Skip("integration test: builds iambind, needs moto_server (run without -short)")
	}
	bin := filepath.Join(t.TempDir(), "iambind")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/iambind").CombinedOutput(); err != nil {
		t.Fatalf("building iambind: %v\n%s", err, out)
	}
	moto := mototest.Start(t)
	fake := eksfake.Start(t, testAccount, eksRegion, "prod")
	creds := credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")
	return &piEnv{
		t: t, bin: bin, moto: moto, eks: fake,
		env:  append(os.Environ(), append(moto.Env(), "AWS_PROFILE=", "NO_COLOR=1")...),
		iam:  iam.New(iam.Options{Region: mototest.Region, BaseEndpoint: aws.String(moto.Endpoint), Credentials: creds}),
		eksc: eks.New(eks.Options{Region: eksRegion, BaseEndpoint: aws.String(fake.URL), Credentials: creds}),
	}
}

// run runs the binary with -f rendered (when not empty) and the endpoints.
func (e *piEnv) run(rendered string, args ...string) runResult {
	e.t.Helper()
	if rendered != "" {
		p := filepath.Join(e.t.TempDir(), "rendered.yaml")
		if err := os.WriteFile(p, []byte(rendered), 0o644); err != nil {
			e.t.Fatal(err)
		}
		args = append(args, "-f", p)
	}
	if args[0] == "plan" || args[0] == "apply" {
		args = append(args, "--endpoint-url", e.moto.Endpoint, "--eks-endpoint-url", e.eks.URL)
	}
	cmd := exec.Command(e.bin, args...)
	cmd.Env = e.env
	code, out, errOut := cmdtest.Run(e.t, cmd)
	return runResult{code, out, errOut}
}

var piSummaryRE = regexp.MustCompile(`Pod Identity associations: (\d+) created, (\d+) updated, (\d+) deleted, (\d+) unchanged; EKS calls: (\d+) reads, (\d+) writes`)

// apply applies and returns the association counts (created, updated,
// deleted, unchanged; zero when the plan has none) and the IAM and EKS writes.
func (e *piEnv) apply(rendered string, extra ...string) (a [4]int, iamWrites, eksWrites int) {
	e.t.Helper()
	r := e.run(rendered, append([]string{"apply"}, extra...)...)
	if r.code != 0 {
		e.t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	im := summaryRE.FindStringSubmatch(r.stdout)
	if im == nil {
		e.t.Fatalf("no summary line in:\n%s", r.stdout)
	}
	iamWrites, _ = strconv.Atoi(im[6])
	if m := piSummaryRE.FindStringSubmatch(r.stdout); m != nil {
		for i := range 4 {
			a[i], _ = strconv.Atoi(m[i+1])
		}
		eksWrites, _ = strconv.Atoi(m[6])
	}
	return a, iamWrites, eksWrites
}

// planJSON runs plan -o json and decodes it.
func (e *piEnv) planJSON(rendered string, extra ...string) (JSONDocument, int) {
	e.t.Helper()
	r := e.run(rendered, append([]string{"plan", "-o", "json", "--detailed-exitcode"}, extra...)...)
	var doc JSONDocument
	if r.code == 1 {
		return doc, 1
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("plan JSON: %v\n%s\n%s", err, r.stdout, r.stderr)
	}
	return doc, r.code
}

// associations returns cluster prod's associations as "ns/sa=roleName[owner]".
func (e *piEnv) associations() []string {
	var out []string
	for _, a := range e.eks.Associations("prod") {
		out = append(out, a.Namespace+"/"+a.ServiceAccount+"="+a.RoleARN[strings.LastIndex(a.RoleARN, "/")+1:]+"["+a.Tags[generator.TagOwner]+"]")
	}
	return out
}

func (e *piEnv) id(ns, sa string) string {
	for _, a := range e.eks.Associations("prod") {
		if a.Namespace == ns && a.ServiceAccount == sa {
			return a.ID
		}
	}
	e.t.Fatalf("no association %s/%s", ns, sa)
	return ""
}

func (e *piEnv) trust(role string) generator.PolicyDocument {
	e.t.Helper()
	out, err := e.iam.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		e.t.Fatal(err)
	}
	doc, err := change.DecodeIAMDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		e.t.Fatal(err)
	}
	var pd generator.PolicyDocument
	if err := json.Unmarshal([]byte(doc), &pd); err != nil {
		e.t.Fatal(err)
	}
	return pd
}

func hasWebIdentity(doc generator.PolicyDocument) bool {
	return slices.ContainsFunc(doc.Statement, func(st generator.Statement) bool { return !generator.IsPodIdentityStatement(st) })
}

func hasPodIdentity(doc generator.PolicyDocument) bool {
	return slices.ContainsFunc(doc.Statement, generator.IsPodIdentityStatement)
}

// trustChange returns the trustPolicy field change of a role in a plan, or nil.
func trustChange(doc JSONDocument, role string) (before, after generator.PolicyDocument, changed bool) {
	for _, rc := range doc.Roles {
		if rc.Name != role {
			continue
		}
		for _, c := range rc.Changes {
			if c.Field == "trustPolicy" {
				b, _ := json.Marshal(c.Before)
				a, _ := json.Marshal(c.After)
				_ = json.Unmarshal(b, &before)
				_ = json.Unmarshal(a, &after)
				return before, after, true
			}
		}
	}
	return before, after, false
}

// TestPodIdentityMigrationNeverDropsIRSAEarly walks irsa → both →
// podIdentity through the binary: the irsa→both plan only adds (every IRSA
// statement stays, associations are created), and the IRSA trust goes only
// in the both→podIdentity plan, once the associations exist; a direct
// irsa→podIdentity plan is refused.
func TestPodIdentityMigrationNeverDropsIRSAEarly(t *testing.T) {
	e := newPIEnv(t)
	cluster := eksClusterYAML("prod-usw2", "prod")
	irsa := render(t, cluster, modeBinding("irsa"))
	both := render(t, cluster, modeBinding("both"))
	podIdentity := render(t, cluster, modeBinding("podIdentity"))

	e.apply(irsa)
	if calls := e.eks.Calls(); len(calls) != 0 {
		t.Fatalf("an irsa plan called EKS: %v", calls)
	}
	const role = "shop-orders"

	// irsa → both: only additions.
	doc, code := e.planJSON(both)
	if code != 2 {
		t.Fatalf("plan irsa→both: exit %d", code)
	}
	before, after, changed := trustChange(doc, role)
	if !changed {
		t.Fatal("plan irsa→both: no trust change")
	}
	for _, st := range before.Statement {
		if !slices.ContainsFunc(after.Statement, func(a generator.Statement) bool { return sameJSON(a, st) }) {
			t.Errorf("plan irsa→both drops trust statement %+v", st)
		}
	}
	if !hasPodIdentity(after) || len(after.Statement) != len(before.Statement)+1 {
		t.Errorf("plan irsa→both: trust after = %+v", after)
	}
	if s := doc.Summary.PodIdentityAssociations; s == nil || s.Create != 2 || s.Update+s.Delete != 0 {
		t.Errorf("plan irsa→both associations: %+v", s)
	}
	if !strings.Contains(both, generator.AnnotationRoleARN) {
		t.Error("mode both must keep the ServiceAccount annotation")
	}
	a, _, eksWrites := e.apply(both)
	if a != [4]int{2, 0, 0, 0} || eksWrites != 2 {
		t.Fatalf("apply both: associations %v, %d EKS writes", a, eksWrites)
	}
	if got, want := e.associations(), []string{"shop-batch/worker=shop-orders[prod-usw2]", "shop/orders=shop-orders[prod-usw2]"}; !slices.Equal(got, want) {
		t.Fatalf("associations = %v, want %v", got, want)
	}
	if tr := e.trust(role); !hasWebIdentity(tr) || !hasPodIdentity(tr) {
		t.Fatalf("trust after both: %+v", tr)
	}

	// No-op: zero writes on both sides, and plan says no changes.
	if a, iamWrites, eksWrites := e.apply(both); a != [4]int{0, 0, 0, 2} || iamWrites != 0 || eksWrites != 0 {
		t.Fatalf("second apply: associations %v, IAM writes %d, EKS writes %d", a, iamWrites, eksWrites)
	}
	if _, code := e.planJSON(both); code != 0 {
		t.Fatalf("plan after apply: exit %d, want 0", code)
	}

	// both → podIdentity: the associations exist, so only now does the IRSA trust go.
	doc, code = e.planJSON(podIdentity)
	if code != 2 {
		t.Fatalf("plan both→podIdentity: exit %d", code)
	}
	if s := doc.Summary.PodIdentityAssociations; s == nil || s.NoChange != 2 || s.Create+s.Update+s.Delete != 0 {
		t.Errorf("plan both→podIdentity associations: %+v", s)
	}
	if _, after, _ := trustChange(doc, role); hasWebIdentity(after) || !hasPodIdentity(after) {
		t.Errorf("plan both→podIdentity trust after: %+v", after)
	}
	if strings.Contains(podIdentity, generator.AnnotationRoleARN) {
		t.Error("mode podIdentity must not annotate ServiceAccounts")
	}
	e.apply(podIdentity)
	if tr := e.trust(role); hasWebIdentity(tr) || !hasPodIdentity(tr) {
		t.Fatalf("trust after podIdentity: %+v", tr)
	}
	if _, code := e.planJSON(podIdentity); code != 0 {
		t.Fatalf("plan after podIdentity apply: exit %d, want 0", code)
	}

	// A second binding goes irsa → podIdentity directly: refused, nothing written.
	other := func(mode string) string {
		return render(t, cluster, modeBinding("podIdentity"), namedBinding("web", "api", mode, "web/api"))
	}
	e.apply(other("irsa"))
	writes := e.eks.Calls()["CreatePodIdentityAssociation"]
	r := e.run(other("podIdentity"), "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "removes its IRSA (web identity) trust") || !strings.Contains(r.stderr, "mode both first") {
		t.Fatalf("direct irsa→podIdentity apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if tr := e.trust("web-api"); !hasWebIdentity(tr) || e.eks.Calls()["CreatePodIdentityAssociation"] != writes {
		t.Fatal("the refused apply wrote")
	}
}

func sameJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

// TestPodIdentityApplyDriftPruneForeign: apply from empty, no-op, drift
// (an association pointed elsewhere, one deleted by hand) shown by plan and
// repaired by apply, a foreign association left alone (and refused, then
// adopted, when it is for a planned ServiceAccount), prune of an owned
// association, and a pruned role's associations deleted before the role.
func TestPodIdentityApplyDriftPruneForeign(t *testing.T) {
	e := newPIEnv(t)
	ctx := context.Background()
	cluster := eksClusterYAML("prod-usw2", "prod")
	plan := render(t, cluster, modeBinding("podIdentity"), namedBinding("web", "api", "podIdentity", "web/api"))

	// From empty.
	a, _, eksWrites := e.apply(plan)
	if a != [4]int{3, 0, 0, 0} || eksWrites != 3 {
		t.Fatalf("apply from empty: %v, %d EKS writes", a, eksWrites)
	}
	want := []string{"shop-batch/worker=shop-orders[prod-usw2]", "shop/orders=shop-orders[prod-usw2]", "web/api=web-api[prod-usw2]"}
	if got := e.associations(); !slices.Equal(got, want) {
		t.Fatalf("associations = %v, want %v", got, want)
	}
	for _, as := range e.eks.Associations("prod") {
		if as.Tags[generator.TagManagedBy] != generator.ManagedByValue || as.Tags[generator.TagBinding] == "" {
			t.Errorf("association %s/%s tags %v", as.Namespace, as.ServiceAccount, as.Tags)
		}
	}
	// No-op.
	if a, iamWrites, eksWrites := e.apply(plan); a != [4]int{0, 0, 0, 3} || iamWrites != 0 || eksWrites != 0 {
		t.Fatalf("no-op apply: %v, IAM writes %d, EKS writes %d", a, iamWrites, eksWrites)
	}

	// Drift: one association pointed at another role, one deleted by hand.
	if _, err := e.eksc.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), AssociationId: aws.String(e.id("shop", "orders")), RoleArn: aws.String("arn:aws:iam::123456789012:role/intruder"),
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eksc.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), AssociationId: aws.String(e.id("web", "api")),
	}); err != nil {
		t.Fatal(err)
	}
	r := e.run(plan, "plan", "--detailed-exitcode")
	if r.code != 2 ||
		!strings.Contains(r.stdout, `~ update EKS Pod Identity association prod/shop/orders (region us-west-2)`) ||
		!strings.Contains(r.stdout, `~ roleArn: "arn:aws:iam::123456789012:role/intruder" → "arn:aws:iam::123456789012:role/iambind/shop-orders"`) ||
		!strings.Contains(r.stdout, `+ create EKS Pod Identity association prod/web/api`) ||
		!strings.Contains(r.stdout, "Pod Identity associations: 1 to create, 1 to update, 0 to delete, 1 unchanged") {
		t.Fatalf("plan with drift: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	t.Logf("plan with drift:\n%s", r.stdout)
	if a, iamWrites, eksWrites := e.apply(plan); a != [4]int{1, 1, 0, 1} || iamWrites != 0 || eksWrites != 2 {
		t.Fatalf("repairing apply: %v, IAM writes %d, EKS writes %d", a, iamWrites, eksWrites)
	}
	if got := e.associations(); !slices.Equal(got, want) {
		t.Fatalf("after repair associations = %v, want %v", got, want)
	}

	// A foreign association of a ServiceAccount not in the plan: left alone, even by --prune.
	if _, err := e.eksc.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("foreign"),
		RoleArn: aws.String("arn:aws:iam::123456789012:role/foreign"),
	}); err != nil {
		t.Fatal(err)
	}
	// Prune: shop-batch/worker leaves the binding, and binding web/api goes altogether.
	pruned := render(t, cluster, modeBinding("podIdentity", "shop/orders"))
	if r := e.run(pruned, "plan", "--detailed-exitcode"); r.code != 0 && strings.Contains(r.stdout, "delete EKS") {
		t.Fatalf("plan without --prune deletes associations:\n%s", r.stdout)
	}
	r = e.run(pruned, "plan", "--prune")
	if !strings.Contains(r.stdout, "- delete EKS Pod Identity association prod/shop-batch/worker") ||
		!strings.Contains(r.stdout, "- delete EKS Pod Identity association prod/web/api") ||
		strings.Contains(r.stdout, "foreign") {
		t.Fatalf("plan --prune:\n%s\n%s", r.stdout, r.stderr)
	}
	r = e.run(pruned, "apply", "--prune")
	if r.code != 0 {
		t.Fatalf("apply --prune: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The pruned role's association is deleted before the role.
	assocDel := strings.Index(r.stdout, "prod/web/api: DeletePodIdentityAssociation")
	roleDel := strings.Index(r.stdout, "role web-api: DeleteRole")
	if assocDel < 0 || roleDel < 0 || assocDel > roleDel {
		t.Fatalf("apply --prune order (association %d, role %d):\n%s", assocDel, roleDel, r.stdout)
	}
	if got, want := e.associations(), []string{"shop/foreign=foreign[]", "shop/orders=shop-orders[prod-usw2]"}; !slices.Equal(got, want) {
		t.Fatalf("after prune associations = %v, want %v", got, want)
	}

	// A foreign association of a planned ServiceAccount: refused without --adopt, then adopted.
	adoptPlan := render(t, cluster, modeBinding("podIdentity", "shop/orders", "shop/foreign"))
	r = e.run(adoptPlan, "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "prod/shop/foreign") || !strings.Contains(r.stderr, "--adopt") {
		t.Fatalf("apply over a foreign association: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := e.associations(); got[0] != "shop/foreign=foreign[]" {
		t.Fatalf("refused apply changed the foreign association: %v", got)
	}
	if a, _, _ := e.apply(adoptPlan, "--adopt"); a != [4]int{0, 1, 0, 1} {
		t.Fatalf("apply --adopt: %v", a)
	}
	if got := e.associations(); got[0] != "shop/foreign=shop-orders[prod-usw2]" {
		t.Fatalf("after adopt: %v", got)
	}
	if a, iamWrites, eksWrites := e.apply(adoptPlan); a != [4]int{0, 0, 0, 2} || iamWrites+eksWrites != 0 {
		t.Fatalf("after adopt, apply is not a no-op: %v %d %d", a, iamWrites, eksWrites)
	}

	// check answers for Pod Identity from the same plan.
	r = e.run(adoptPlan, "check", "--sub", "system:serviceaccount:shop:orders", "--eks-cluster", "prod")
	if r.code != 0 || !strings.Contains(r.stdout, "✓ shop-orders") {
		t.Fatalf("check shop/orders: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.run(adoptPlan, "check", "--sub", "system:serviceaccount:shop-batch:worker", "--eks-cluster", "prod")
	if r.code != 1 || !strings.Contains(r.stdout, "no EKS Pod Identity association prod/shop-batch/worker") {
		t.Fatalf("check shop-batch/worker: %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
