package importer_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/internal/tooltest"
	"github.com/iambind/iambind/reconcile/iam"
)

var repoRoot = func() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(file))
}()

const (
	account = "123456789012" // moto's default account
	issuer1 = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	issuer2 = "https://oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
)

// TestMain builds bin/iambind-fn: the imported kustomization runs it.
func TestMain(m *testing.M) {
	if _, err := tooltest.BuildFunction(); err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func fnBinary() string { return filepath.Join(repoRoot, "bin", "iambind-fn") }

func hostPath(issuer string) string { return strings.TrimPrefix(issuer, "https://") }

func providerARN(issuer string) string {
	return "arn:aws:iam::" + account + ":oidc-provider/" + hostPath(issuer)
}

// oidcStatement is one trust statement for an issuer with the given
// condition block (JSON).
func oidcStatement(issuer, conditions string) string {
	return `{"Effect":"Allow","Principal":{"Federated":"` + providerARN(issuer) + `"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":` + conditions + `}`
}

func trust(statements ...string) string {
	return `{"Version":"2012-10-17","Statement":[` + strings.Join(statements, ",") + `]}`
}

func eq(issuer, ns, sa string) string {
	h := hostPath(issuer)
	return `{"StringEquals":{"` + h + `:aud":"sts.amazonaws.com","` + h + `:sub":"system:serviceaccount:` + ns + `:` + sa + `"}}`
}

func adminIAM(srv *mototest.Server) *awsiam.Client {
	return awsiam.New(awsiam.Options{
		Region: mototest.Region, BaseEndpoint: aws.String(srv.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, ""),
	})
}

type roleSpec struct {
	name, path, description, trust, boundary string
	maxSession                               int32
	managed                                  []string
	inline                                   map[string]string
	tags                                     map[string]string
}

func createRole(t testing.TB, c *awsiam.Client, r roleSpec) {
	t.Helper()
	if err := createRoleErr(c, r); err != nil {
		t.Fatal(err)
	}
}

// createRoleErr makes a role as the estate's tools would: CreateRole, then
// its managed and inline policies.
func createRoleErr(c *awsiam.Client, r roleSpec) error {
	ctx := context.Background()
	in := &awsiam.CreateRoleInput{RoleName: aws.String(r.name), AssumeRolePolicyDocument: aws.String(r.trust)}
	if r.path != "" {
		in.Path = aws.String(r.path)
	}
	if r.description != "" {
		in.Description = aws.String(r.description)
	}
	if r.maxSession != 0 {
		in.MaxSessionDuration = aws.Int32(r.maxSession)
	}
	if r.boundary != "" {
		in.PermissionsBoundary = aws.String(r.boundary)
	}
	for k, v := range r.tags {
		in.Tags = append(in.Tags, types.Tag{Key: aws.String(k), Value: aws.String(v)})
	}
	if _, err := c.CreateRole(ctx, in); err != nil {
		return fmt.Errorf("CreateRole %s: %w", r.name, err)
	}
	for _, arn := range r.managed {
		if _, err := c.AttachRolePolicy(ctx, &awsiam.AttachRolePolicyInput{RoleName: aws.String(r.name), PolicyArn: aws.String(arn)}); err != nil {
			return fmt.Errorf("AttachRolePolicy %s: %w", r.name, err)
		}
	}
	for n, doc := range r.inline {
		if _, err := c.PutRolePolicy(ctx, &awsiam.PutRolePolicyInput{RoleName: aws.String(r.name), PolicyName: aws.String(n), PolicyDocument: aws.String(doc)}); err != nil {
			return fmt.Errorf("PutRolePolicy %s: %w", r.name, err)
		}
	}
	return nil
}

func createProviders(t testing.TB, c *awsiam.Client, issuers ...string) {
	t.Helper()
	for _, is := range issuers {
		if _, err := c.CreateOpenIDConnectProvider(context.Background(), &awsiam.CreateOpenIDConnectProviderInput{
			Url: aws.String(is), ClientIDList: []string{"sts.amazonaws.com"}, ThumbprintList: []string{strings.Repeat("a", 40)},
		}); err != nil {
			t.Fatalf("CreateOpenIDConnectProvider %s: %v", is, err)
		}
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// iambind runs the real command line with env added to the test's.
func iambind(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var out, errb bytes.Buffer
	code := clitest.Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func kustomize(t *testing.T, dir string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(repoRoot, "bin", "kustomize"), "build", "--enable-alpha-plugins", "--enable-exec", dir)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("kustomize build %s: %v\n%s", dir, err, errb.String())
	}
	return out.String()
}

// importReport is the part of import's JSON output the tests read.
type importReport struct {
	Clusters []string `json:"clusters"`
	Roles    []struct {
		Role, Class, Reason, File, Closest string
		Sources                            []string
	} `json:"roles"`
	Findings []struct {
		Object, Problem, Message, Role, Binding string
	} `json:"findings"`
	Summary map[string]struct {
		Exact, Tightened, Skipped int
		SkipReasons               map[string]int
	} `json:"summary"`
	IAMReads struct {
		Strategy string
		Calls    int
	} `json:"iamReads"`
}

func decodeReport(t *testing.T, stdout string) importReport {
	t.Helper()
	var rep importReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("import --output json: %v\n%s", err, stdout)
	}
	return rep
}

func (r importReport) class(role string) (class, reason string) {
	for _, x := range r.Roles {
		if x.Role == role {
			return x.Class, x.Reason
		}
	}
	return "", ""
}

// snapshot reads roles back from IAM.
func snapshot(t *testing.T, c *awsiam.Client, names ...string) map[string]*iam.ObservedRole {
	t.Helper()
	ob := &iam.Observer{IAM: c, Concurrency: 1}
	out := map[string]*iam.ObservedRole{}
	for _, n := range names {
		o, err := ob.ObserveRole(context.Background(), n)
		if err != nil || o == nil {
			t.Fatalf("reading role %s back: %v (exists %v)", n, err, o != nil)
		}
		out[n] = o
	}
	return out
}

// files reads every file under dir, by relative path.
func files(t *testing.T, dir string) map[string]string { return fixture.ReadTree(t, dir) }

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// eventually retries f for up to 30 s (a CRD becoming served).
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func startKube(t *testing.T) *kubetest.Server {
	t.Helper()
	if os.Getenv("KUBE_ASSETS") == "" {
		if _, err := kubetest.EnsureAssets(); err != nil {
			t.Skipf("needs a kube-apiserver and etcd (KUBE_ASSETS): %v", err)
		}
	}
	return kubetest.StartT(t)
}
