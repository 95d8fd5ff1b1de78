package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/internal/cmdtest"
	"github.com/iambind/iambind/internal/mototest"
)

// actionCounter is a proxy in front of moto that records every IAM Action
// it forwards, so a test can prove that a refused run wrote nothing.
type actionCounter struct {
	mu      sync.Mutex
	actions []string
}

func (c *actionCounter) start(t *testing.T, target string) string {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") != "" {
			c.mu.Lock()
			c.actions = append(c.actions, form.Get("Action"))
			c.mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// writes returns the recorded actions that are not reads.
func (c *actionCounter) writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, a := range c.actions {
		if !strings.HasPrefix(a, "Get") && !strings.HasPrefix(a, "List") {
			out = append(out, a)
		}
	}
	return out
}

// TestPreflightBinaries: a misspelt AWS managed policy, a missing customer
// policy and a missing permissions boundary. The function warns about the
// first (with a suggestion), `iambind plan` exits 1 naming all three, and
// `iambind apply` refuses with zero writes; moto accepts CreateRole with a
// missing boundary (FACTS.md), so only the preflight catches that one.
// With the names fixed (and the customer policies created), apply succeeds.
func TestPreflightBinaries(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end: builds binaries and needs moto_server")
	}
	srv := mototest.Start(t)
	bins := buildBinaries(t)
	fnBin, cliBin := bins.fn, bins.cli
	counter := &actionCounter{}
	endpoint := counter.start(t, srv.Endpoint)
	env := append(os.Environ(), srv.Env()...)
	run := func(stdin []byte, bin string, args ...string) (int, string, string) {
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		cmd.Stdin = bytes.NewReader(stdin)
		return cmdtest.Run(t, cmd)
	}

	code, rendered, errOut := run([]byte(misspelt), fnBin)
	if code != 0 || !strings.Contains(rendered, "AmazonS3ReadOnly is not a known AWS managed policy; did you mean AmazonS3ReadOnlyAccess?") {
		t.Fatalf("iambind-fn: exit %d\n%s\n%s", code, rendered, errOut)
	}
	const (
		typo     = "arn:aws:iam::aws:policy/AmazonS3ReadOnly"
		extra    = "arn:aws:iam::123456789012:policy/orders-extra"
		boundary = "arn:aws:iam::123456789012:policy/orders-boundary"
		where    = "role shop-orders-s3 (binding shop/orders-s3): "
	)
	for _, command := range []string{"plan", "apply"} {
		code, out, errOut := run([]byte(rendered), cliBin, command, "-f", "-", "--endpoint-url", endpoint)
		if code != 1 {
			t.Fatalf("%s: exit %d, want 1\n%s\n%s", command, code, out, errOut)
		}
		for _, want := range []string{
			where + "spec.policies.managed: " + typo + " does not exist; did you mean AmazonS3ReadOnlyAccess?",
			where + "spec.policies.managed: " + extra + " does not exist",
			where + "spec.role.permissionsBoundary: " + boundary + " does not exist",
			"nothing was changed",
		} {
			if !strings.Contains(errOut, want) {
				t.Errorf("%s: stderr lacks %q:\n%s", command, want, errOut)
			}
		}
	}
	if w := counter.writes(); len(w) != 0 {
		t.Fatalf("refused plan and apply made IAM writes: %v", w)
	}

	// Fix the names: the AWS policy's spelling, and create the customer policies.
	ctx := context.Background()
	client := srv.AdminIAM()
	for _, name := range []string{"orders-extra", "orders-boundary"} {
		if _, err := client.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String(name),
			PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`)}); err != nil {
			t.Fatal(err)
		}
	}
	code, rendered, errOut = run([]byte(strings.Replace(misspelt, "AmazonS3ReadOnly,", "AmazonS3ReadOnlyAccess,", 1)), fnBin)
	if code != 0 || strings.Contains(rendered, "severity: warning") {
		t.Fatalf("iambind-fn after the fix: exit %d\n%s\n%s", code, rendered, errOut)
	}
	if code, out, errOut := run([]byte(rendered), cliBin, "apply", "-f", "-", "--endpoint-url", endpoint); code != 0 ||
		!strings.Contains(out, "roles: 1 created") {
		t.Fatalf("apply after the fix: exit %d\n%s\n%s", code, out, errOut)
	}
	role, err := client.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shop-orders-s3")})
	if err != nil || role.Role.PermissionsBoundary == nil || aws.ToString(role.Role.PermissionsBoundary.PermissionsBoundaryArn) != boundary {
		t.Fatalf("role after apply: %v %+v", err, role)
	}
	attached, err := client.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("shop-orders-s3")})
	if err != nil || len(attached.AttachedPolicies) != 2 {
		t.Fatalf("attached: %v %+v", err, attached)
	}
	if code, out, errOut := run([]byte(rendered), cliBin, "plan", "--detailed-exitcode", "-f", "-", "--endpoint-url", endpoint); code != 0 {
		t.Fatalf("plan after apply: exit %d\n%s\n%s", code, out, errOut)
	}
}

const misspelt = `apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- apiVersion: iambind.dev/v1alpha1
  kind: IdentityCluster
  metadata:
    name: prod-usw2
  spec:
    accountID: "123456789012"
    issuer: https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E
    rolePath: /iambind/
- apiVersion: iambind.dev/v1alpha1
  kind: IdentityBinding
  metadata:
    name: orders-s3
    namespace: shop
  spec:
    serviceAccounts:
    - name: orders
    role:
      permissionsBoundary: orders-boundary
    policies:
      managed: [AmazonS3ReadOnly, arn:aws:iam::123456789012:policy/orders-extra]
`
