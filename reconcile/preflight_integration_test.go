package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

const allowAll = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`

// bindingWith is a binding with the given managed policies and no inline ones.
func bindingWith(ns, name string, managed ...string) string {
	return `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: ` + name + `
  namespace: ` + ns + `
spec:
  policies:
    managed: [` + strings.Join(managed, ", ") + `]
`
}

// planJSON runs plan -o json and decodes it.
func (e *env) planJSON(rendered string, extra ...string) (map[string]any, runResult) {
	e.t.Helper()
	r := e.run("", append([]string{"plan", "-o", "json", "-f", e.file(rendered)}, extra...)...)
	if r.code != 0 {
		e.t.Fatalf("plan -o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		e.t.Fatalf("plan JSON: %v\n%s", err, r.stdout)
	}
	return doc, r
}

func num(doc map[string]any, path ...string) int {
	var v any = doc
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	f, _ := v.(float64)
	return int(f)
}

// Read cost: a no-op plan of 200 roles sharing 3 policies reads no policy
// (all are attached to observed roles), and a plan that creates them reads
// each distinct policy once.
func TestIntegrationPreflightReadCost200Roles(t *testing.T) {
	e := newEnv(t)
	docs := []string{clusterYAML("prod", testIssuer)}
	for i := range 200 {
		docs = append(docs, bindingWith("shop", fmt.Sprintf("app%03d", i), "AmazonS3ReadOnlyAccess", "AmazonSQSReadOnlyAccess", "AmazonDynamoDBReadOnlyAccess"))
	}
	rendered := render(t, docs...)

	doc, _ := e.planJSON(rendered)
	if got := num(doc, "preflight", "policiesRead"); got != 3 || num(doc, "preflight", "policiesReferenced") != 3 {
		t.Fatalf("create plan: preflight %v, want 3 policies referenced and read once each", doc["preflight"])
	}
	if _, _, _, _, _, writes := e.apply(rendered, "--concurrency", "8"); writes != 1+200*4 {
		t.Fatalf("apply made %d writes", writes)
	}
	doc, _ = e.planJSON(rendered)
	policyReads := num(doc, "preflight", "policiesRead")
	reads := num(doc, "iamCalls", "reads")
	t.Logf("no-op plan of 200 roles: %d IAM reads, of which %d for the preflight", reads, policyReads)
	// Extra reads over the observation (GetAccountAuthorizationDetails +
	// ListRoles + GetOpenIDConnectProvider = 3): the goal is at most 3.
	// Every policy is attached to an observed role, so none is read at all.
	if policyReads != 0 || reads-3 > 3 || doc["hasChanges"] != false {
		t.Fatalf("no-op plan: %d reads, %d for policies (want ≤ 3 extra); hasChanges %v", reads, policyReads, doc["hasChanges"])
	}
}

// After removing one of two bindings (and one of four: both observation
// paths), plan without --prune names the owned role that left the plan;
// --detailed-exitcode stays 0 and the JSON lists it.
func TestIntegrationPlanNamesOrphans(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before []string
		after  []string
	}{
		{"per-role reads", []string{"a", "b"}, []string{"a"}},
		{"bulk reads", []string{"a", "b", "c", "d"}, []string{"a", "c", "d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			bindings := func(names []string) string {
				docs := []string{clusterYAML("prod", testIssuer)}
				for _, n := range names {
					docs = append(docs, bindingWith("shop", n, "AmazonS3ReadOnlyAccess"))
				}
				return render(t, docs...)
			}
			e.apply(bindings(tc.before))
			// A role of another owner under the same path is not reported.
			e.must(e.iam.CreateRole(context.Background(), &iam.CreateRoleInput{RoleName: aws.String("other"), Path: aws.String("/iambind/"),
				AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}))
			after := bindings(tc.after)
			r := e.run("", "plan", "--detailed-exitcode", "-f", e.file(after))
			if r.code != 0 {
				t.Fatalf("plan: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			want := "1 role owned by prod is no longer planned: shop-b; `--prune` deletes it"
			if !strings.Contains(r.stdout, want) || strings.Contains(r.stdout, "(no changes)") || strings.Contains(r.stdout, "other") {
				t.Fatalf("plan output lacks %q (or still says no changes):\n%s", want, r.stdout)
			}
			doc, _ := e.planJSON(after)
			orphans, _ := doc["orphans"].([]any)
			if len(orphans) != 1 || orphans[0].(map[string]any)["name"] != "shop-b" || orphans[0].(map[string]any)["owner"] != "prod" {
				t.Fatalf("JSON orphans: %v", doc["orphans"])
			}
			// With --prune the role is a delete, not an orphan.
			doc, _ = e.planJSON(after, "--prune")
			if o, _ := doc["orphans"].([]any); len(o) != 0 || num(doc, "summary", "delete") != 1 {
				t.Fatalf("with --prune: orphans %v, summary %v", doc["orphans"], doc["summary"])
			}
		})
	}
}

// A plan that would exceed the account's role quota is refused at plan
// time, against moto's real (fixed, not lowerable) quota of 1000 roles.
func TestIntegrationRoleQuotaRefused(t *testing.T) {
	e := newEnv(t)
	docs := []string{clusterYAML("prod", testIssuer)}
	for i := range 1001 {
		docs = append(docs, bindingWith("shop", fmt.Sprintf("r%04d", i), "AmazonS3ReadOnlyAccess"))
	}
	endpoint, count := actionCounter(t, e.srv.Endpoint)
	r := e.run("", "plan", "-f", e.file(render(t, docs...)), "--endpoint-url", endpoint)
	if n := count("GetAccountSummary"); n != 1 {
		t.Errorf("GetAccountSummary called %d times, want once (bulk reads chosen without asking, then the quota check)", n)
	}
	if r.code != 1 || !strings.Contains(r.stderr, "the plan creates 1001 role(s) (and deletes 0) in an account that has 0: 1001 roles, over the account's quota of 1000") {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
}

// actionCounter is a proxy in front of moto that counts the requests of
// each IAM Action.
func actionCounter(t *testing.T, target string) (endpoint string, count func(action string) int) {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var mu sync.Mutex
	counts := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil {
			mu.Lock()
			counts[form.Get("Action")]++
			mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func(action string) int {
		mu.Lock()
		defer mu.Unlock()
		return counts[action]
	}
}

// GetAccountSummary is asked only when its answer matters: never for a
// 10-role no-op or an update-only run (per-role reads win whatever the
// account's size, and nothing is created), once for a run that creates near
// a quota (the preflight's check), shared with the read model.
func TestIntegrationAccountSummaryOnlyWhenNeeded(t *testing.T) {
	e := newEnv(t)
	endpoint, count := actionCounter(t, e.srv.Endpoint)
	docs := []string{clusterYAML("prod", testIssuer)}
	for i := range 10 {
		docs = append(docs, bindingYAML("shop", fmt.Sprintf("app%02d", i)))
	}
	rendered := render(t, docs...)
	if created, _, _, _, _, _ := e.apply(rendered, "--endpoint-url", endpoint); created != 10 {
		t.Fatalf("created %d roles", created)
	}
	before := count("GetAccountSummary")
	if _, _, _, unchanged, _, writes := e.apply(rendered, "--endpoint-url", endpoint); unchanged != 10 || writes != 0 {
		t.Fatalf("no-op: %d unchanged, %d writes", unchanged, writes)
	}
	if n := count("GetAccountSummary") - before; n != 0 || count("GetRole") == 0 {
		t.Fatalf("10-role no-op: %d GetAccountSummary calls (want 0), %d GetRole", n, count("GetRole"))
	}
	doc, _ := e.planJSON(rendered, "--endpoint-url", endpoint)
	if read, _ := doc["preflight"].(map[string]any)["accountSummaryRead"].(bool); read || count("GetAccountSummary") != before {
		t.Fatalf("no-op plan JSON: accountSummaryRead %v, %d calls", read, count("GetAccountSummary")-before)
	}
	// Update only (an inline policy changes): still no question.
	changed := render(t, append(append([]string{}, docs[:len(docs)-1]...),
		strings.Replace(bindingYAML("shop", "app09"), `"s3:PutObject"`, `"s3:DeleteObject"`, 1))...)
	if _, updated, _, _, _, _ := e.apply(changed, "--endpoint-url", endpoint); updated != 1 {
		t.Fatalf("update: %d updated", updated)
	}
	if n := count("GetAccountSummary") - before; n != 0 {
		t.Fatalf("update-only run: %d GetAccountSummary calls, want 0", n)
	}
	// A run that creates a role with 11 managed policies (over the default
	// quota of 10) asks once, and moto's quota of 10 refuses it.
	eleven := []string{"AmazonS3ReadOnlyAccess", "AmazonSQSReadOnlyAccess", "AmazonDynamoDBReadOnlyAccess", "AmazonEC2ReadOnlyAccess",
		"AmazonSNSReadOnlyAccess", "CloudWatchReadOnlyAccess", "AmazonRDSReadOnlyAccess", "AmazonKinesisReadOnlyAccess",
		"IAMReadOnlyAccess", "AmazonRoute53ReadOnlyAccess", "AmazonVPCReadOnlyAccess"}
	big := render(t, append(append([]string{}, docs...), bindingWith("shop", "big", eleven...))...)
	r := e.run("", "apply", "-f", e.file(big), "--endpoint-url", endpoint)
	if r.code != 1 || !strings.Contains(r.stderr, "role shop-big: 11 managed policies, over the account's quota of 10") {
		t.Fatalf("create over the per-role quota: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := count("GetAccountSummary") - before; n != 1 {
		t.Fatalf("create near a quota: %d GetAccountSummary calls, want 1", n)
	}
}

// iamChanger is a proxy in front of moto that runs a hook before
// forwarding a request with a given IAM Action: IAM changing between plan
// and apply, at the worst moment.
func iamChanger(t *testing.T, target, action string, hook func()) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	var fired atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == action && fired.CompareAndSwap(false, true) {
			hook()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// When IAM changes between the preflight and the write (the customer
// policy is deleted just before it is attached), apply says per role what
// was done and what was not, and the command that finishes the job; that
// command converges once the cause is fixed.
func TestIntegrationApplyFailureSummary(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	createExtra := func() {
		e.must(e.iam.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("orders-extra"), PolicyDocument: aws.String(allowAll)}))
	}
	createExtra()
	e.apply(oneRole(t))
	extraARN := "arn:aws:iam::" + testAccount + ":policy/orders-extra"
	changed := strings.Replace(bindingYAML("shop", "orders"), "managed: [AmazonS3ReadOnlyAccess]", "managed: [AmazonS3ReadOnlyAccess, "+extraARN+"]", 1)
	changed = strings.Replace(changed, `"s3:PutObject"`, `"s3:DeleteObject"`, 1)
	rendered := render(t, clusterYAML("prod", testIssuer), changed)
	proxy := iamChanger(t, e.srv.Endpoint, "AttachRolePolicy", func() {
		e.must(e.iam.DeletePolicy(ctx, &iam.DeletePolicyInput{PolicyArn: aws.String(extraARN)}))
	})
	file := e.file(rendered)
	r := e.run("", "apply", "-f", file, "--endpoint-url", proxy)
	if r.code != 1 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	rerun := "iambind apply --endpoint-url " + proxy + " -f " + file // flags in name order
	for _, want := range []string{
		"Apply stopped short for 1 item(s); IAM is partly changed:",
		"  role shop-orders:\n    done:     nothing\n    failed:   AttachRolePolicy " + extraARN + "\n    not done: PutRolePolicy bucket\n",
		"To finish: fix the cause above, then run: " + rerun + "\n",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q:\n%s", want, r.stdout)
		}
	}
	if !strings.Contains(r.stderr, "finish with: "+rerun) {
		t.Errorf("stderr lacks the command: %s", r.stderr)
	}
	// Fix the cause and run the printed command as is.
	createExtra()
	args := strings.Fields(strings.TrimPrefix(rerun, "iambind "))
	if r := e.run("", args...); r.code != 0 {
		t.Fatalf("rerun: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	e.requireMatches(rendered)
}
