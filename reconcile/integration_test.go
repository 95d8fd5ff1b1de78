package reconcile

import (
	"bytes"
	"context"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/change"
)

// env is one integration test's moto server and helpers.
type env struct {
	t   *testing.T
	srv *mototest.Server
	iam *awsiam.Client // for setting up drift and reading IAM back
}

func newEnv(t *testing.T) *env {
	if testing.Short() {
		t.Skip("integration test: needs moto_server (run without -short)")
	}
	srv := mototest.Start(t)
	srv.SetEnv(t)
	client := awsiam.New(awsiam.Options{
		Region:       mototest.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, ""),
	})
	return &env{t: t, srv: srv, iam: client}
}

type runResult struct {
	code           int
	stdout, stderr string
}

// run runs the CLI in-process against this moto server.
func (e *env) run(stdin string, args ...string) runResult {
	e.t.Helper()
	if !strings.Contains(strings.Join(args, " "), "--endpoint-url") {
		args = append(args, "--endpoint-url", e.srv.Endpoint)
	}
	var out, errb bytes.Buffer
	code := clitest.Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return runResult{code, out.String(), errb.String()}
}

// file writes a rendered stream to a temp file and returns its path.
func (e *env) file(content string) string {
	p := filepath.Join(e.t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return p
}

var summaryRE = regexp.MustCompile(`roles: (\d+) created, (\d+) updated, (\d+) deleted, (\d+) unchanged; IAM calls: (\d+) reads, (\d+) writes`)

// apply runs apply, fails the test unless it succeeds, and returns the
// numbers of its summary line.
func (e *env) apply(rendered string, extra ...string) (created, updated, deleted, unchanged, reads, writes int) {
	e.t.Helper()
	r := e.run("", append([]string{"apply", "-f", e.file(rendered)}, extra...)...)
	if r.code != 0 {
		e.t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	m := summaryRE.FindStringSubmatch(r.stdout)
	if m == nil {
		e.t.Fatalf("no summary line in:\n%s", r.stdout)
	}
	n := make([]int, 6)
	for i := range n {
		n[i], _ = strconv.Atoi(m[i+1])
	}
	return n[0], n[1], n[2], n[3], n[4], n[5]
}

// planExit runs plan --detailed-exitcode and returns its exit code.
func (e *env) planExit(rendered string, extra ...string) int {
	e.t.Helper()
	r := e.run("", append([]string{"plan", "--detailed-exitcode", "-f", e.file(rendered)}, extra...)...)
	if r.code == 1 {
		e.t.Logf("plan failed:\n%s\n%s", r.stdout, r.stderr)
	}
	return r.code
}

// requireMatches reads every planned role back from IAM and compares it
// field by field with the plan.
func (e *env) requireMatches(rendered string) {
	e.t.Helper()
	ctx := context.Background()
	for _, d := range readString(e.t, rendered).Roles {
		ob := &iam.Observer{IAM: e.iam, Concurrency: 1}
		o, err := ob.ObserveRole(ctx, d.Name)
		if err != nil || o == nil {
			e.t.Fatalf("role %s: %v (exists=%v)", d.Name, err, o != nil)
		}
		if o.Path != d.Path || o.Description != d.Description || o.MaxSessionDuration != d.MaxSessionDuration || o.ARN != d.ARN {
			e.t.Errorf("role %s: got path %q desc %q session %d arn %s", d.Name, o.Path, o.Description, o.MaxSessionDuration, o.ARN)
		}
		if same, _ := change.SameDocument(o.TrustPolicy, iam.TrustDocument(&d.Role)); !same {
			e.t.Errorf("role %s: trust policy %s", d.Name, o.TrustPolicy)
		}
		if got, want := strings.Join(o.ManagedPolicyARNs, ","), strings.Join(slices.Compact(slices.Sorted(slices.Values(d.ManagedPolicyARNs))), ","); got != want {
			e.t.Errorf("role %s: managed %s, want %s", d.Name, got, want)
		}
		if len(o.InlinePolicies) != len(d.InlinePolicies) {
			e.t.Errorf("role %s: inline %v", d.Name, slices.Sorted(maps.Keys(o.InlinePolicies)))
		}
		for name, doc := range d.InlinePolicies {
			if same, _ := change.SameDocument(o.InlinePolicies[name], string(doc)); !same {
				e.t.Errorf("role %s: inline %s = %s", d.Name, name, o.InlinePolicies[name])
			}
		}
		if got, want := tagString(o.Tags), tagString(d.Tags); got != want {
			e.t.Errorf("role %s: tags %s, want %s", d.Name, got, want)
		}
	}
}

func tagString(m map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, ",")
}

func (e *env) roleNames() []string {
	e.t.Helper()
	out, err := e.iam.ListRoles(context.Background(), &awsiam.ListRolesInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	var names []string
	for _, r := range out.Roles {
		names = append(names, aws.ToString(r.RoleName))
	}
	sort.Strings(names)
	return names
}

func (e *env) providers() map[string][]string {
	e.t.Helper()
	ctx := context.Background()
	list, err := e.iam.ListOpenIDConnectProviders(ctx, &awsiam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, p := range list.OpenIDConnectProviderList {
		got, err := e.iam.GetOpenIDConnectProvider(ctx, &awsiam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.Arn})
		if err != nil {
			e.t.Fatal(err)
		}
		out[aws.ToString(p.Arn)] = got.ClientIDList
	}
	return out
}

func (e *env) must(_ any, err error) {
	e.t.Helper()
	if err != nil {
		e.t.Fatal(err)
	}
}

// threeRoles is large enough for bulk observation, oneRole small enough for
// per-role reads: both paths are exercised.
func threeRoles(t *testing.T) string {
	return render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"), bindingYAML("shop", "payments"), bindingYAML("shop", "ledger"))
}

func oneRole(t *testing.T) string {
	return render(t, clusterYAML("prod", testIssuer), bindingYAML("shop", "orders"))
}

func TestIntegrationCreateFromEmptyThenNoOp(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rendered func(*testing.T) string
		roles    int
	}{{"per-role reads", oneRole, 1}, {"bulk reads", threeRoles, 3}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rendered := tc.rendered(t)
			if code := e.planExit(rendered); code != 2 {
				t.Fatalf("plan on empty IAM: exit %d, want 2", code)
			}
			created, _, _, _, reads, writes := e.apply(rendered)
			if created != tc.roles {
				t.Fatalf("created %d, want %d", created, tc.roles)
			}
			t.Logf("create from empty, %d role(s): %d reads, %d writes", tc.roles, reads, writes)
			e.requireMatches(rendered)
			arn := generator.OIDCProviderARN("aws", testAccount, testIssuer)
			if got := e.providers(); len(got) != 1 || strings.Join(got[arn], ",") != "sts.amazonaws.com" {
				t.Fatalf("OIDC providers: %v", got)
			}

			created, updated, deleted, unchanged, reads, writes := e.apply(rendered)
			t.Logf("no-op, %d role(s): %d reads, %d writes", tc.roles, reads, writes)
			if writes != 0 || created+updated+deleted != 0 || unchanged != tc.roles {
				t.Fatalf("second apply: %d created %d updated %d deleted %d unchanged, %d writes", created, updated, deleted, unchanged, writes)
			}
			if code := e.planExit(rendered); code != 0 {
				t.Fatalf("plan after apply: exit %d, want 0", code)
			}
		})
	}
}

func TestIntegrationRepairsDrift(t *testing.T) {
	for _, tc := range []struct {
		name     string
		rendered func(*testing.T) string
	}{{"per-role reads", oneRole}, {"bulk reads", threeRoles}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			rendered := tc.rendered(t)
			e.apply(rendered)
			ctx := context.Background()
			role := aws.String("shop-orders")
			e.must(e.iam.UpdateAssumeRolePolicy(ctx, &awsiam.UpdateAssumeRolePolicyInput{RoleName: role,
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}`)}))
			e.must(e.iam.DetachRolePolicy(ctx, &awsiam.DetachRolePolicyInput{RoleName: role, PolicyArn: aws.String(s3ro)}))
			e.must(e.iam.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: role, PolicyArn: aws.String("arn:aws:iam::aws:policy/AdministratorAccess")}))
			e.must(e.iam.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("bucket"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)}))
			e.must(e.iam.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: role, PolicyName: aws.String("extra"),
				PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}`)}))
			e.must(e.iam.TagRole(ctx, &awsiam.TagRoleInput{RoleName: role, Tags: []types.Tag{
				{Key: aws.String(generator.TagBinding), Value: aws.String("other/x")}, {Key: aws.String("team"), Value: aws.String("x")}}}))
			e.must(e.iam.UpdateRole(ctx, &awsiam.UpdateRoleInput{RoleName: role, Description: aws.String("hand edit"), MaxSessionDuration: aws.Int32(7200)}))

			r := e.run("", "plan", "-f", e.file(rendered))
			for _, want := range []string{"~ update role shop-orders", "trustPolicy:", "AdministratorAccess", "inlinePolicies.extra", `~ description: "hand edit"`, "- tags.team"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("plan lacks %q:\n%s", want, r.stdout)
				}
			}
			_, updated, _, _, _, _ := e.apply(rendered)
			if updated != 1 {
				t.Fatalf("updated %d, want 1", updated)
			}
			e.requireMatches(rendered)
			if code := e.planExit(rendered); code != 0 {
				t.Fatalf("plan after repair: exit %d", code)
			}
		})
	}
}

func TestIntegrationPruneOnlyOwned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	both := threeRoles(t)
	e.apply(both)
	// Roles that are not ours: another owner's and an untagged one, and an
	// instance profile on a role about to be pruned.
	trust := aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	e.must(e.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("theirs"), AssumeRolePolicyDocument: trust,
		Tags: []types.Tag{{Key: aws.String(generator.TagOwner), Value: aws.String("staging")}}}))
	e.must(e.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("handmade"), AssumeRolePolicyDocument: trust}))
	e.must(e.iam.CreateInstanceProfile(ctx, &awsiam.CreateInstanceProfileInput{InstanceProfileName: aws.String("ip")}))
	e.must(e.iam.AddRoleToInstanceProfile(ctx, &awsiam.AddRoleToInstanceProfileInput{InstanceProfileName: aws.String("ip"), RoleName: aws.String("shop-ledger")}))

	if r := e.run("", "apply", "--prune", "-f", e.file("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")); r.code != 1 || !strings.Contains(r.stderr, "no plan") {
		t.Fatalf("prune with no plan must fail: %d %s", r.code, r.stderr)
	}

	only := oneRole(t)
	// Without --prune the others stay.
	if _, _, deleted, _, _, _ := e.apply(only); deleted != 0 {
		t.Fatalf("deleted %d without --prune", deleted)
	}
	if code := e.planExit(only, "--prune"); code != 2 {
		t.Fatalf("plan --prune: exit %d, want 2", code)
	}
	_, _, deleted, unchanged, _, _ := e.apply(only, "--prune")
	if deleted != 2 || unchanged != 1 {
		t.Fatalf("deleted %d unchanged %d, want 2 and 1", deleted, unchanged)
	}
	if got := strings.Join(e.roleNames(), ","); got != "handmade,shop-orders,theirs" {
		t.Fatalf("roles left: %s", got)
	}
	if code := e.planExit(only, "--prune"); code != 0 {
		t.Fatalf("plan --prune after prune: exit %d", code)
	}
}

func TestIntegrationForeignRoleRefusedThenAdopted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	handTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	e.must(e.iam.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String("shop-orders"), Path: aws.String("/iambind/"),
		AssumeRolePolicyDocument: aws.String(handTrust),
		Tags:                     []types.Tag{{Key: aws.String(generator.TagOwner), Value: aws.String("someone-else")}}}))
	rendered := oneRole(t)

	for _, cmd := range []string{"plan", "apply"} {
		r := e.run("", cmd, "-f", e.file(rendered))
		if r.code != 1 {
			t.Fatalf("%s on a foreign role: exit %d\n%s", cmd, r.code, r.stdout)
		}
		for _, want := range []string{"role shop-orders", `its iambind.dev/owner tag is "someone-else"`, "--adopt"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("%s error lacks %q: %s", cmd, want, r.stderr)
			}
		}
	}
	ob := &iam.Observer{IAM: e.iam}
	o, _ := ob.ObserveRole(ctx, "shop-orders")
	if same, _ := change.SameDocument(o.TrustPolicy, handTrust); !same || o.Owner() != "someone-else" || len(o.ManagedPolicyARNs) != 0 {
		t.Fatalf("refused role was touched: %+v", o)
	}
	if p := e.providers(); len(p) != 0 {
		t.Fatalf("a refused apply must write nothing, got providers %v", p)
	}

	_, updated, _, _, _, _ := e.apply(rendered, "--adopt")
	if updated != 1 {
		t.Fatalf("adopt: updated %d", updated)
	}
	e.requireMatches(rendered)
	if code := e.planExit(rendered); code != 0 {
		t.Fatalf("plan after adopt (no --adopt needed any more): exit %d", code)
	}
}

func TestIntegrationGuardRefusesMovedServiceAccount(t *testing.T) {
	e := newEnv(t)
	rendered := oneRole(t)
	// kustomize `namespace: prod-shop` applied after the function moves every object.
	moved := strings.ReplaceAll(rendered, "namespace: shop\n", "namespace: prod-shop\n")
	for _, cmd := range []string{"plan", "apply"} {
		r := e.run("", cmd, "-f", e.file(moved))
		if r.code != 1 || !strings.Contains(r.stderr, "consistency guard") || !strings.Contains(r.stderr, "system:serviceaccount:prod-shop:orders") {
			t.Fatalf("%s: exit %d\n%s", cmd, r.code, r.stderr)
		}
	}
	if names := e.roleNames(); len(names) != 0 {
		t.Fatalf("guard must prevent every write, roles: %v", names)
	}
	if p := e.providers(); len(p) != 0 {
		t.Fatalf("guard must prevent every write, providers: %v", p)
	}
}

func TestIntegrationMultiCluster(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rendered := render(t, clusterYAML("east", testIssuer), clusterYAML("west", testIssuer2), bindingYAML("shop", "orders", "east", "west"))
	e.apply(rendered)
	e.requireMatches(rendered)
	p := e.providers()
	a1 := generator.OIDCProviderARN("aws", testAccount, testIssuer)
	a2 := generator.OIDCProviderARN("aws", testAccount, testIssuer2)
	if len(p) != 2 || strings.Join(p[a1], ",") != "sts.amazonaws.com" || strings.Join(p[a2], ",") != "sts.amazonaws.com" {
		t.Fatalf("providers: %v", p)
	}
	o, _ := (&iam.Observer{IAM: e.iam}).ObserveRole(ctx, "shop-orders")
	for _, iss := range []string{testIssuer, testIssuer2} {
		if !strings.Contains(o.TrustPolicy, generator.IssuerHostPath(iss)+":sub") {
			t.Errorf("trust lacks %s: %s", iss, o.TrustPolicy)
		}
	}
	if code := e.planExit(rendered); code != 0 {
		t.Fatalf("plan after apply: %d", code)
	}
}

// A provider that exists without our audience is planned as an update.
// (moto 5.2.1 does not implement AddClientIDToOpenIDConnectProvider, so the
// write itself is covered by the diff's unit tests, not here.)
func TestIntegrationProviderMissingAudiencePlanned(t *testing.T) {
	e := newEnv(t)
	e.must(e.iam.CreateOpenIDConnectProvider(context.Background(), &awsiam.CreateOpenIDConnectProviderInput{
		Url: aws.String(testIssuer), ClientIDList: []string{"other"}, ThumbprintList: []string{iam.PlaceholderThumbprint}}))
	r := e.run(oneRole(t), "plan", "-f", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "~ update OIDC provider "+testIssuer+": add client IDs sts.amazonaws.com") {
		t.Fatalf("exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func TestIntegrationPlanJSONAndExitCodes(t *testing.T) {
	e := newEnv(t)
	rendered := oneRole(t)
	r := e.run(rendered, "plan", "-o", "json", "-f", "-")
	if r.code != 0 {
		t.Fatalf("plan -o json: %d %s", r.code, r.stderr)
	}
	doc := checkPlanJSON(t, []byte(r.stdout), map[string]string{"shop-orders": "create"})
	if doc["hasChanges"] != true || doc["command"] != "plan" {
		t.Errorf("doc: %v", doc)
	}
	if code := e.planExit(rendered); code != 2 {
		t.Fatalf("changes: exit %d, want 2", code)
	}
	r = e.run("", "apply", "-o", "json", "-f", e.file(rendered))
	if r.code != 0 {
		t.Fatalf("apply -o json: %d %s", r.code, r.stderr)
	}
	doc = checkPlanJSON(t, []byte(r.stdout), map[string]string{"shop-orders": "create"})
	if res := doc["result"].(map[string]any); res["created"] != float64(1) {
		t.Errorf("result: %v", res)
	}
	if code := e.planExit(rendered); code != 0 {
		t.Fatalf("no changes: exit %d, want 0", code)
	}
	if code := e.planExit("not: [valid"); code != 1 {
		t.Fatalf("error: exit %d, want 1", code)
	}
}

func TestIntegrationLimitsCheckedBeforeAnyWrite(t *testing.T) {
	e := newEnv(t)
	rendered := oneRole(t)
	long := strings.Replace(rendered, `"description": "Managed by iambind for shop/orders"`, `"description": "`+strings.Repeat("x", 1001)+`"`, 1)
	r := e.run("", "apply", "-f", e.file(long))
	if r.code != 1 || !strings.Contains(r.stderr, "description is 1001 characters") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if names := e.roleNames(); len(names) != 0 {
		t.Fatalf("invalid plan wrote roles: %v", names)
	}
}

func TestIntegrationPathChangeReplacesRole(t *testing.T) {
	e := newEnv(t)
	e.apply(oneRole(t))
	moved := render(t, strings.Replace(clusterYAML("prod", testIssuer), "/iambind/", "/moved/", 1), bindingYAML("shop", "orders"))
	r := e.run("", "plan", "-f", e.file(moved))
	if !strings.Contains(r.stdout, "-/+ replace role shop-orders") {
		t.Fatalf("plan:\n%s", r.stdout)
	}
	_, updated, _, _, _, _ := e.apply(moved)
	if updated != 1 {
		t.Fatalf("updated %d", updated)
	}
	e.requireMatches(moved)
}

func TestIntegrationAccountMismatchRefused(t *testing.T) {
	e := newEnv(t)
	other := strings.ReplaceAll(oneRole(t), testAccount, "111122223333")
	r := e.run("", "apply", "-f", e.file(other))
	if r.code != 1 || !strings.Contains(r.stderr, "the plan is for account 111122223333") {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if names := e.roleNames(); len(names) != 0 {
		t.Fatalf("roles: %v", names)
	}
}
