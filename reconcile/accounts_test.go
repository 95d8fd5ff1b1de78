package reconcile

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/mototest"
)

const otherAccount = "111122223333"

// accountClusterYAML is an IdentityCluster in the given account.
func accountClusterYAML(name, account, issuer string) string {
	return strings.Replace(clusterYAML(name, issuer), `accountID: "`+testAccount+`"`, `accountID: "`+account+`"`, 1)
}

// twoAccounts renders two roles in moto's default account (the caller's)
// and two in otherAccount, reached by assuming a role.
func twoAccounts(t *testing.T, extra ...string) string {
	docs := []string{
		accountClusterYAML("home", testAccount, testIssuer),
		accountClusterYAML("away", otherAccount, testIssuer2),
		bindingYAML("shop", "orders", "home"), bindingYAML("shop", "billing", "home"),
		bindingYAML("web", "front", "away"), bindingYAML("web", "search", "away"),
	}
	return render(t, append(docs, extra...)...)
}

// iamIn is an IAM client acting in account through an assumed role, as
// moto grants any AssumeRole into another account.
func (e *env) iamIn(account string) *iam.Client {
	base := sts.New(sts.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base, "arn:aws:iam::"+account+":role/test-reader"))
	return iam.New(iam.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.srv.Endpoint), Credentials: creds})
}

const assumeTemplate = "arn:{partition}:iam::{account}:role/iambind"

func TestIntegrationAccountsAssumeRole(t *testing.T) {
	e := newEnv(t)
	rendered := twoAccounts(t)

	// Without --assume-role a plan spanning accounts is refused, pointing at the flag.
	r := e.run("", "plan", "-f", e.file(rendered))
	if r.code != 1 || !strings.Contains(r.stderr, "spans several accounts") || !strings.Contains(r.stderr, "--assume-role") {
		t.Fatalf("multi-account plan without --assume-role: exit %d\n%s", r.code, r.stderr)
	}

	r = e.run("", "apply", "-f", e.file(rendered), "--assume-role", assumeTemplate)
	if r.code != 0 {
		t.Fatalf("apply exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{
		"== account " + otherAccount + " (aws), assumed arn:aws:iam::" + otherAccount + ":role/iambind",
		"== account " + testAccount + " (aws), the credentials' own account",
		"total over 2 accounts: roles: 4 created, 0 updated, 0 deleted, 0 unchanged",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("apply output lacks %q:\n%s", want, r.stdout)
		}
	}
	// Each account holds its own two roles, and only those.
	home, away := *e, *e
	away.iam = e.iamIn(otherAccount)
	home.requireMatches(render(t, accountClusterYAML("home", testAccount, testIssuer), bindingYAML("shop", "orders", "home"), bindingYAML("shop", "billing", "home")))
	away.requireMatches(render(t, accountClusterYAML("away", otherAccount, testIssuer2), bindingYAML("web", "front", "away"), bindingYAML("web", "search", "away")))
	if got := strings.Join(e.roleNames(), ","); got != "shop-billing,shop-orders" {
		t.Errorf("caller's account holds %s", got)
	}
	if got := strings.Join(away.roleNames(), ","); got != "web-front,web-search" {
		t.Errorf("other account holds %s", got)
	}
	if got := away.providers(); len(got) != 1 {
		t.Errorf("other account's OIDC providers: %v", got)
	}

	// No-op: exit 0 with --detailed-exitcode; the JSON reports per account.
	if code := e.planExit(rendered, "--assume-role", assumeTemplate); code != 0 {
		t.Fatalf("plan after apply: exit %d", code)
	}
	r = e.run("", "apply", "-f", e.file(rendered), "--assume-role", assumeTemplate, "-o", "json")
	if r.code != 0 {
		t.Fatalf("no-op apply exit %d\n%s", r.code, r.stderr)
	}
	var doc struct {
		HasChanges bool `json:"hasChanges"`
		Roles      []struct {
			ARN string `json:"arn"`
		} `json:"roles"`
		Result   *JSONResult `json:"result"`
		Accounts []struct {
			Account     string      `json:"account"`
			AssumedRole string      `json:"assumedRole"`
			IAMCalls    JSONCalls   `json:"iamCalls"`
			Result      *JSONResult `json:"result"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if doc.HasChanges || len(doc.Roles) != 4 || doc.Result == nil || doc.Result.Unchanged != 4 || len(doc.Accounts) != 2 {
		t.Fatalf("merged JSON: %+v", doc)
	}
	if a := doc.Accounts[0]; a.Account != otherAccount || a.AssumedRole != "arn:aws:iam::"+otherAccount+":role/iambind" || a.Result.Unchanged != 2 || a.IAMCalls.Writes != 0 {
		t.Errorf("account 0: %+v", a)
	}
	if a := doc.Accounts[1]; a.Account != testAccount || a.AssumedRole != "" || a.Result.Unchanged != 2 {
		t.Errorf("account 1: %+v", a)
	}

	// Prune works per account: dropping one role from each account deletes exactly those.
	smaller := render(t, accountClusterYAML("home", testAccount, testIssuer), accountClusterYAML("away", otherAccount, testIssuer2),
		bindingYAML("shop", "orders", "home"), bindingYAML("web", "front", "away"))
	r = e.run("", "apply", "-f", e.file(smaller), "--assume-role", assumeTemplate, "--prune")
	if r.code != 0 || !strings.Contains(r.stdout, "total over 2 accounts: roles: 0 created, 0 updated, 2 deleted, 2 unchanged") {
		t.Fatalf("prune exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := strings.Join(e.roleNames(), ",") + " | " + strings.Join(away.roleNames(), ","); got != "shop-orders | web-front" {
		t.Errorf("after prune: %s", got)
	}
}

// The account check runs with the assumed credentials: a template that
// lands in another account than the one it was filled with is refused there.
func TestIntegrationAccountsAssumedIdentityChecked(t *testing.T) {
	e := newEnv(t)
	rendered := twoAccounts(t)
	// Every account assumes a role in 999988887777: the check sees the mismatch.
	r := e.run("", "apply", "-f", e.file(rendered), "--assume-role", "arn:{partition}:iam::999988887777:role/{account}")
	if r.code != 1 || !strings.Contains(r.stderr, "account "+otherAccount+": the plan is for account "+otherAccount) ||
		!strings.Contains(r.stderr, "credentials are for account 999988887777") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
	}
	away := *e
	away.iam = e.iamIn(otherAccount)
	if n := len(away.roleNames()); n != 0 {
		t.Errorf("the refused account got %d roles", n)
	}
	// The caller's own account does not depend on the template and went through.
	if got := strings.Join(e.roleNames(), ","); got != "shop-billing,shop-orders" {
		t.Errorf("caller's account holds %s", got)
	}
}

// An invalid role in one account stops every account before any write.
func TestIntegrationAccountsBadInputStopsAll(t *testing.T) {
	e := newEnv(t)
	rendered := twoAccounts(t)
	rendered = strings.Replace(rendered, `"maxSessionDuration": 3600`, `"maxSessionDuration": 60`, 1)
	if !strings.Contains(rendered, `"maxSessionDuration": 60,`) {
		t.Fatal("test setup: no maxSessionDuration to break")
	}
	r := e.run("", "apply", "-f", e.file(rendered), "--assume-role", assumeTemplate)
	if r.code != 1 || !strings.Contains(r.stderr, "maxSessionDuration 60") || !strings.Contains(r.stderr, "nothing was changed") {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	away := *e
	away.iam = e.iamIn(otherAccount)
	if n := len(e.roleNames()) + len(away.roleNames()); n != 0 {
		t.Errorf("%d roles written despite bad input", n)
	}
}

func TestScaleFlagsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"--assume-role", "arn:aws:iam::111122223333:role/fixed"},
		{"--assume-role", "not-an-arn-{account}"},
		{"--shard", "2/2"},
		{"--shard", "x"},
		{"--rate", "-1"},
	} {
		var out, errb strings.Builder
		code := clitest.Run(context.Background(), append([]string{"plan", "-f", "-"}, args...), strings.NewReader(""), &out, &errb)
		if code != 1 || !strings.Contains(errb.String(), args[0]) {
			t.Errorf("%v: exit %d, stderr %s", args, code, errb.String())
		}
	}
}
