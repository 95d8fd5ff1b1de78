package deploy

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/input"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/iameval"
	"github.com/iambind/iambind/internal/mototest"
)

// The rendered plans of the examples whose roles live under /iambind/ (the
// path the Job may write); multi-cluster plans roles at "/" and is refused
// by the guardrails, which the test checks too.
var examplePlans = []string{
	"examples/kustomize-transformer/expected.yaml",
	"examples/kpt-package/iambind",
	"examples/flux/hydrated/apps/manifests.yaml",
}

// TestJobPolicyUnderMotoAuthorization runs the reconcile Job's credentials,
// an IAM user whose only policy is exactly deploy/iam-policy.json, against
// moto with IAM authorization on (in the policy's account, so the file is
// used byte for byte):
//   - `iambind apply --guardrails deploy/base/guardrails.yaml` applies the
//     examples, every role with the boundary the guardrails add, and a
//     second plan has nothing to do;
//   - calls moto can judge are denied by moto itself: removing a boundary,
//     touching a role outside /iambind/, touching iambind's own role;
//   - calls whose rule lives in a Condition or in the Resource of a role not
//     created yet are logged with what moto answered, and proven denied by
//     iambind's own evaluator of the same file (TestJobPolicyDelegation).
func TestJobPolicyUnderMotoAuthorization(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs moto_server")
	}
	policy, err := os.ReadFile(filepath.Join(repoRoot, "deploy", policyOutput))
	if err != nil {
		t.Fatal(err)
	}
	boundaryDoc, err := os.ReadFile(filepath.Join(repoRoot, "deploy", "base", "boundary-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, p := range examplePlans {
		paths = append(paths, filepath.Join(repoRoot, p))
	}
	plans, err := input.ReadInputs(paths, nil)
	if err != nil || len(plans.Roles) < 3 {
		t.Fatalf("reading the example plans: %v (%d roles)", err, len(plans.Roles))
	}
	own := renderOwnRole(t)
	ctx := context.Background()

	var keyID, secret string
	srv := mototest.StartWithAuthorization(t, account, func(admin *iam.Client) {
		must := func(_ any, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("bootstrap: %v", err)
			}
		}
		// What an administrator sets up before the Job runs: the boundary
		// policy, iambind's own role, the clusters' OIDC providers (moto
		// cannot authorize CreateOpenIDConnectProvider against a scoped
		// Resource, see mototest), a role outside the Job's path, and the
		// Job's identity.
		must(admin.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("iambind-boundary"), PolicyDocument: aws.String(string(boundaryDoc))}))
		trust, _ := json_(own.TrustPolicy)
		must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(own.Name), Path: aws.String(own.Path), AssumeRolePolicyDocument: aws.String(trust)}))
		must(admin.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(own.Name), PolicyName: aws.String("iambind"), PolicyDocument: aws.String(string(own.InlinePolicies["iambind"]))}))
		must(admin.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("break-glass"), Path: aws.String("/admin/"), AssumeRolePolicyDocument: aws.String(trust)}))
		seen := map[string]bool{}
		for _, r := range plans.Roles {
			for _, p := range r.OIDCProviders {
				if !seen[p.URL] {
					seen[p.URL] = true
					must(admin.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(p.URL),
						ClientIDList: p.Audiences, ThumbprintList: []string{strings.Repeat("0", 40)}}))
				}
			}
		}
		keyID, secret = mototest.CreateUserWithPolicy(t, admin, "iambind-job", string(policy))
	})
	if _, err := srv.AdminIAM().ListRoles(ctx, &iam.ListRolesInput{}); err == nil {
		t.Fatal("moto still answers the unrestricted test credentials: authorization is not on, this test would prove nothing")
	}
	job := srv.IAMWith(keyID, secret)

	bin := filepath.Join(t.TempDir(), "iambind")
	if out, err := exec.Command("go", "build", "-o", bin, filepath.Join(repoRoot, "cmd", "iambind")).CombinedOutput(); err != nil {
		t.Fatalf("building iambind: %v\n%s", err, out)
	}
	run := func(args ...string) (int, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(srv.EnvWith(keyID, secret), "PATH="+os.Getenv("PATH"))
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		_ = cmd.Run()
		return cmd.ProcessState.ExitCode(), out.String()
	}
	guardrails := filepath.Join(repoRoot, "deploy", "base", "guardrails.yaml")
	args := []string{"--guardrails", guardrails}
	for _, p := range paths {
		args = append(args, "-f", p)
	}
	if code, out := run(append([]string{"apply"}, args...)...); code != 0 {
		t.Fatalf("the Job's credentials cannot apply the examples: exit %d\n%s", code, out)
	}
	if code, out := run(append([]string{"plan", "--detailed-exitcode"}, args...)...); code != 0 {
		t.Errorf("plan after apply: exit %d, want 0 (no changes)\n%s", code, out)
	}
	for _, r := range plans.Roles {
		got, err := job.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.Name)})
		if err != nil {
			t.Fatalf("GetRole %s with the Job's credentials: %v", r.Name, err)
		}
		if b := got.Role.PermissionsBoundary; b == nil || aws.ToString(b.PermissionsBoundaryArn) != boundaryARN {
			t.Errorf("role %s: boundary %v, want %s (added by the guardrails)", r.Name, b, boundaryARN)
		}
	}
	if code, out := run("plan", "--guardrails", guardrails, "-f", filepath.Join(repoRoot, "examples/multi-cluster/expected.yaml")); code != 1 || !strings.Contains(out, "is not an allowed role path (guardrails rolePaths: /iambind/*)") {
		t.Errorf("a plan outside /iambind/ must be refused by the guardrails: exit %d\n%s", code, out)
	}

	managed := plans.Roles[0].Name
	trust, _ := json_(own.TrustPolicy)
	admin := "arn:aws:iam::aws:policy/AdministratorAccess"
	// Denied by moto itself: the rule is an unconditional Deny, or the
	// Resource of an existing role, both of which moto evaluates.
	for _, c := range []struct {
		what string
		call func() error
	}{
		{"DeleteRolePermissionsBoundary on a managed role", func() error {
			_, err := job.DeleteRolePermissionsBoundary(ctx, &iam.DeleteRolePermissionsBoundaryInput{RoleName: aws.String(managed)})
			return err
		}},
		{"AttachRolePolicy AdministratorAccess to a role outside /iambind/", func() error {
			_, err := job.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("break-glass"), PolicyArn: aws.String(admin)})
			return err
		}},
		{"PutRolePolicy on a role outside /iambind/", func() error {
			_, err := job.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("break-glass"), PolicyName: aws.String("x"), PolicyDocument: aws.String(string(boundaryDoc))})
			return err
		}},
		{"UpdateAssumeRolePolicy on a role outside /iambind/", func() error {
			_, err := job.UpdateAssumeRolePolicy(ctx, &iam.UpdateAssumeRolePolicyInput{RoleName: aws.String("break-glass"), PolicyDocument: aws.String(trust)})
			return err
		}},
		{"DeleteRole of a role outside /iambind/", func() error {
			_, err := job.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("break-glass")})
			return err
		}},
		{"PutRolePolicy rewriting iambind's own policy", func() error {
			_, err := job.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(own.Name), PolicyName: aws.String("iambind"), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`)})
			return err
		}},
		{"AttachRolePolicy AdministratorAccess to iambind's own role", func() error {
			_, err := job.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String(own.Name), PolicyArn: aws.String(admin)})
			return err
		}},
		{"CreatePolicyVersion of the boundary policy (moto: nothing allows it; the explicit Deny's resource is not evaluated)", func() error {
			_, err := job.CreatePolicyVersion(ctx, &iam.CreatePolicyVersionInput{PolicyArn: aws.String(boundaryARN), PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`), SetAsDefault: true})
			return err
		}},
	} {
		if err := c.call(); !isAccessDenied(err) {
			t.Errorf("%s: want AccessDenied from IAM (moto), got %v", c.what, err)
		}
	}

	// Not judged by moto: it counts every Condition as met and evaluates
	// CreateRole against Resource "*". Whatever moto answers is logged; the
	// rule is proven by iambind's evaluator of the same policy file.
	newTrust := aws.String(trust)
	for _, c := range []struct {
		what, action, resource string
		context                map[string]string
		call                   func() error
	}{
		{"CreateRole under /iambind/ without the boundary (condition key iam:PermissionsBoundary)", "iam:CreateRole", "arn:aws:iam::" + account + ":role/iambind/no-boundary",
			map[string]string{"aws:RequestTag/" + ownerTag: "prod"}, func() error {
				_, err := job.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("no-boundary"), Path: aws.String("/iambind/"), AssumeRolePolicyDocument: newTrust,
					Tags: []iamTag{{Key: aws.String(ownerTag), Value: aws.String("prod")}}})
				return err
			}},
		{"CreateRole outside /iambind/ with the boundary (Resource of a role not created yet)", "iam:CreateRole", "arn:aws:iam::" + account + ":role/admin/escape",
			map[string]string{"aws:RequestTag/" + ownerTag: "prod", "iam:PermissionsBoundary": boundaryARN}, func() error {
				_, err := job.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("escape"), Path: aws.String("/admin/"), AssumeRolePolicyDocument: newTrust,
					PermissionsBoundary: aws.String(boundaryARN), Tags: []iamTag{{Key: aws.String(ownerTag), Value: aws.String("prod")}}})
				return err
			}},
		{"PutRolePermissionsBoundary with a weaker boundary (condition key iam:PermissionsBoundary)", "iam:PutRolePermissionsBoundary", "arn:aws:iam::" + account + ":role/iambind/" + managed,
			map[string]string{"iam:PermissionsBoundary": otherPolicy}, func() error {
				_, err := job.PutRolePermissionsBoundary(ctx, &iam.PutRolePermissionsBoundaryInput{RoleName: aws.String(managed), PermissionsBoundary: aws.String(otherPolicy)})
				return err
			}},
	} {
		verdict := "allowed (moto cannot evaluate this rule)"
		if err := c.call(); isAccessDenied(err) {
			verdict = "denied"
		} else if err != nil {
			verdict = "failed: " + err.Error()
		}
		d, by, err := iameval.Evaluate(policy, iameval.Request{Action: c.action, Resource: c.resource, Context: c.context})
		if err != nil {
			t.Fatal(err)
		}
		if d == iameval.Allowed {
			t.Errorf("%s: allowed by deploy/iam-policy.json (statement %s)", c.what, by)
		}
		t.Logf("%s: moto %s; iambind's evaluator: %s%s", c.what, verdict, d, sidOf(by))
	}
}

type iamTag = types.Tag

// json_ is the compact JSON IAM is sent.
func json_(v any) (string, error) {
	b, err := generator.MarshalJSON(v, false)
	return string(b), err
}

func sidOf(by string) string {
	if by == "" {
		return ""
	}
	return " (" + by + ")"
}

func isAccessDenied(err error) bool { return mototest.IsAccessDenied(err) }
