package reliability

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/mototest"
)

var (
	repoRoot = func() string {
		_, file, _, _ := runtime.Caller(0)
		return filepath.Dir(filepath.Dir(file))
	}()
	iambindBin string
)

// TestMain builds the iambind CLI once; the tests run it as a real process
// (so it can be killed) against moto.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "iambind-reliability")
	if err != nil {
		panic(err)
	}
	iambindBin = filepath.Join(dir, "iambind")
	build := exec.Command("go", "build", "-o", iambindBin, "./cmd/iambind")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building iambind failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// long reports whether the long runs were asked for (make reliability).
func long() bool { return os.Getenv("IAMBIND_RELIABILITY") == "long" }

// managedPool are AWS managed policies moto loads (MOTO_IAM_LOAD_MANAGED_POLICIES).
var managedPool = []string{"AmazonS3ReadOnlyAccess", "AmazonSQSReadOnlyAccess", "AmazonAthenaFullAccess", "service-role/AmazonEBSCSIDriverPolicy"}

// planFixture is a rendered plan on disk plus the roles it holds.
type planFixture struct {
	path  string
	roles []generator.Role
}

// buildPlan renders n bindings over three clusters (one to three per binding),
// with mixed managed and inline policies, through the real generator.
func buildPlan(t testing.TB, n int, owner string) planFixture {
	t.Helper()
	var docs []string
	issuers := []string{
		"https://oidc.eks.us-west-2.amazonaws.com/id/RELIABILITY0000000000000000000A1",
		"https://oidc.eks.eu-west-1.amazonaws.com/id/RELIABILITY0000000000000000000B2",
		"https://oidc.eks.ap-southeast-2.amazonaws.com/id/RELIABILITY00000000000000000C3",
	}
	for i, issuer := range issuers {
		docs = append(docs, fmt.Sprintf(`apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: c%d}
spec:
  accountID: "%s"
  issuer: %s
  owner: %s
  rolePath: /iambind-rel/
`, i, mototest.AccountID, issuer, owner))
	}
	for i := 0; i < n; i++ {
		clusters := []string{"c0", "c1", "c2"}[:1+i%3]
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: app%03d, namespace: ns%d}\nspec:\n", i, i%7)
		fmt.Fprintf(&b, "  clusters: [%s]\n", strings.Join(clusters, ", "))
		fmt.Fprintf(&b, "  serviceAccounts: [{name: app%03d}, {name: app%03d-worker}]\n", i, i)
		fmt.Fprintf(&b, "  role: {tags: {team: t%d}, maxSessionDuration: %d}\n", i%5, 3600*(1+i%3))
		b.WriteString("  policies:\n    managed: [")
		for k := 0; k < i%3; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString(managedPool[(i+k)%len(managedPool)])
		}
		b.WriteString("]\n    inline:\n")
		for k := 0; k < (i+1)%3; k++ {
			fmt.Fprintf(&b, "      p%d: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: [\"s3:GetObject\"], Resource: \"arn:aws:s3:::bucket-%d-%d/*\"}]}\n", k, i, k)
		}
		if (i+1)%3 == 0 {
			b.WriteString("      {}\n")
		}
		docs = append(docs, b.String())
	}
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		t.Fatalf("parsing fixture: %v", err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatalf("fixture does not generate: %v", out.Problems)
	}
	rl := &fn.ResourceList{Items: out.Items}
	data, err := rl.ToYAML()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	var roles []generator.Role
	for _, obj := range out.Items {
		if obj.GetLabel(generator.LabelPlan) != generator.PlanRoleValue {
			continue
		}
		raw, _, _ := obj.NestedString("data", generator.PlanKeyRole)
		var r generator.Role
		if err := json.Unmarshal([]byte(raw), &r); err != nil {
			t.Fatal(err)
		}
		roles = append(roles, r)
	}
	if len(roles) != n {
		t.Fatalf("fixture has %d roles, want %d", len(roles), n)
	}
	return planFixture{path: path, roles: roles}
}

type cliResult struct {
	code           int
	stdout, stderr string
}

// runCLI runs the iambind binary against endpoint with moto's test credentials.
func runCLI(t testing.TB, ctx context.Context, endpoint string, args ...string) cliResult {
	t.Helper()
	cmd := exec.CommandContext(ctx, iambindBin, args...)
	cmd.Env = append(os.Environ(), cliEnv(endpoint)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	_ = cmd.Run()
	code := -1
	if cmd.ProcessState != nil {
		code = cmd.ProcessState.ExitCode()
	}
	return cliResult{code: code, stdout: o.String(), stderr: e.String()}
}

func cliEnv(endpoint string) []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + mototest.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + mototest.SecretAccessKey,
		"AWS_REGION=" + mototest.Region, "AWS_ENDPOINT_URL=" + endpoint,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_PROFILE=",
	}
}

// iamClient talks to moto directly (never through the fault proxy): it is the
// independent reader that decides whether IAM equals the plan.
func iamClient(endpoint string) *iam.Client {
	return iam.New(iam.Options{
		Region:       mototest.Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, ""),
	})
}

// verifyIAM reads IAM back and returns every difference from the plan.
func verifyIAM(t testing.TB, endpoint string, roles []generator.Role) []string {
	t.Helper()
	ctx := context.Background()
	c := iamClient(endpoint)
	var diffs []string
	for _, want := range roles {
		got, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(want.Name)})
		if err != nil {
			diffs = append(diffs, fmt.Sprintf("%s: %v", want.Name, err))
			continue
		}
		r := got.Role
		if aws.ToString(r.Path) != want.Path || aws.ToString(r.Description) != want.Description || aws.ToInt32(r.MaxSessionDuration) != want.MaxSessionDuration {
			diffs = append(diffs, fmt.Sprintf("%s: path/description/session = %s/%q/%d", want.Name, aws.ToString(r.Path), aws.ToString(r.Description), aws.ToInt32(r.MaxSessionDuration)))
		}
		tags := map[string]string{}
		for _, tg := range r.Tags {
			tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		if !reflect.DeepEqual(tags, want.Tags) {
			diffs = append(diffs, fmt.Sprintf("%s: tags %v, want %v", want.Name, tags, want.Tags))
		}
		wantTrust, _ := json.Marshal(want.TrustPolicy)
		if !sameJSON(t, decodeIAM(aws.ToString(r.AssumeRolePolicyDocument)), string(wantTrust)) {
			diffs = append(diffs, fmt.Sprintf("%s: trust policy differs", want.Name))
		}
		attached, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: r.RoleName})
		if err != nil {
			diffs = append(diffs, err.Error())
			continue
		}
		var arns []string
		for _, p := range attached.AttachedPolicies {
			arns = append(arns, aws.ToString(p.PolicyArn))
		}
		sort.Strings(arns)
		if strings.Join(arns, ",") != strings.Join(want.ManagedPolicyARNs, ",") {
			diffs = append(diffs, fmt.Sprintf("%s: managed %v, want %v", want.Name, arns, want.ManagedPolicyARNs))
		}
		inline, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
		if err != nil {
			diffs = append(diffs, err.Error())
			continue
		}
		if len(inline.PolicyNames) != len(want.InlinePolicies) {
			diffs = append(diffs, fmt.Sprintf("%s: inline %v, want %d", want.Name, inline.PolicyNames, len(want.InlinePolicies)))
		}
		for _, name := range inline.PolicyNames {
			doc, ok := want.InlinePolicies[name]
			if !ok {
				diffs = append(diffs, fmt.Sprintf("%s: extra inline %s", want.Name, name))
				continue
			}
			p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: r.RoleName, PolicyName: aws.String(name)})
			if err != nil || !sameJSON(t, decodeIAM(aws.ToString(p.PolicyDocument)), string(doc)) {
				diffs = append(diffs, fmt.Sprintf("%s: inline %s differs (%v)", want.Name, name, err))
			}
		}
	}
	return diffs
}

// untaggedRoles lists roles under the fixture path that lack the owner tag:
// there must never be one, even right after a kill.
func untaggedRoles(t testing.TB, endpoint string) []string {
	t.Helper()
	ctx := context.Background()
	c := iamClient(endpoint)
	var bad []string
	p := iam.NewListRolesPaginator(c, &iam.ListRolesInput{PathPrefix: aws.String("/iambind-rel/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("listing roles: %v", err)
		}
		for _, r := range page.Roles {
			tags, err := c.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: r.RoleName})
			if err != nil {
				t.Fatalf("listing tags of %s: %v", aws.ToString(r.RoleName), err)
			}
			owned := false
			for _, tg := range tags.Tags {
				owned = owned || (aws.ToString(tg.Key) == generator.TagOwner && aws.ToString(tg.Value) != "")
			}
			if !owned {
				bad = append(bad, aws.ToString(r.RoleName))
			}
		}
	}
	return bad
}

func decodeIAM(s string) string {
	if d, err := url.PathUnescape(s); err == nil {
		return d
	}
	return s
}

// sameJSON compares two policy documents semantically (IAM's "a string or a
// list of one" is the same value).
func sameJSON(t testing.TB, a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(normalize(va), normalize(vb))
}

func normalize(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = normalize(e)
		}
		return out
	case []any:
		if len(x) == 1 {
			return normalize(x[0])
		}
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e)
		}
		return out
	}
	return v
}

// converged asserts IAM equals the plan: by our own independent reader and by
// `iambind plan --detailed-exitcode` (exit 0) straight against moto.
func converged(t testing.TB, endpoint string, fx planFixture) bool {
	t.Helper()
	if diffs := verifyIAM(t, endpoint, fx.roles); len(diffs) > 0 {
		t.Errorf("IAM differs from the plan in %d places, e.g. %s", len(diffs), diffs[0])
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r := runCLI(t, ctx, endpoint, "plan", "--detailed-exitcode", "-f", fx.path)
	if r.code != 0 {
		t.Errorf("plan --detailed-exitcode = %d after convergence, want 0\n%s%s", r.code, r.stdout, r.stderr)
		return false
	}
	return true
}

func seeds(short, longCount int) []int64 {
	n := short
	if long() {
		n = longCount
	}
	if v, err := strconv.Atoi(os.Getenv("IAMBIND_SEEDS")); err == nil && v > 0 {
		n = v
	}
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(1000 + i)
	}
	return out
}
