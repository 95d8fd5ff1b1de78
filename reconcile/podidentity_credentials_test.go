package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/mototest"
)

// The credential proof: a process with exactly the environment and token
// file that Pod Identity injection writes resolves credentials through the
// AWS SDK's container-credentials provider and acts as the target role.
//
// The provider calls AWS_CONTAINER_CREDENTIALS_FULL_URI with the content of
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE as the Authorization header. The
// EKS Pod Identity agent answers on the node's link-local address
// 169.254.170.23; a test cannot listen there, so the URI's host is replaced
// by a loopback one, the other host the SDK accepts for plain HTTP
// (loopback or the ECS/EKS link-local addresses); the token file is the
// injected path under a temporary directory, as a test cannot write /var/run.
// Both are the only changes to the injected values. The agent here
// implements its published contract: GET, the token as Authorization, and
// {AccessKeyId, SecretAccessKey, Token, AccountId, Expiration} back; it
// gets the credentials as EKS does, AssumeRole of the association role, then
// of the target role with the association's externalId, from moto.

const credentialChildEnv = "IAMBIND_TEST_CREDENTIAL_CHILD"

// TestCredentialChild is the process under test when re-executed by
// TestIntegrationPodIdentityCredentialProof: it prints the caller identity.
func TestCredentialChild(t *testing.T) {
	if os.Getenv(credentialChildEnv) == "" {
		t.Skip("run by TestIntegrationPodIdentityCredentialProof")
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		fmt.Println("config:", err)
		os.Exit(3)
	}
	id, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		fmt.Println("GetCallerIdentity:", err)
		os.Exit(3)
	}
	creds, _ := cfg.Credentials.Retrieve(ctx)
	fmt.Printf("arn=%s account=%s source=%s\n", aws.ToString(id.Arn), aws.ToString(id.Account), creds.Source)
	os.Exit(0)
}

func TestIntegrationPodIdentityCredentialProof(t *testing.T) {
	e := newPIEnv(t)
	ctx := context.Background()
	cluster := eksClusterYAML("prod-cluster", "prod")
	binding := strings.Replace(targetBinding("orders"), "  mode: podIdentity\n", "  mode: podIdentity\n  inject: true\n", 1)
	deployment := `apiVersion: apps/v1
kind: Deployment
metadata:
  name: orders
  namespace: shop
spec:
  selector: {matchLabels: {app: orders}}
  template:
    metadata: {labels: {app: orders}}
    spec:
      serviceAccountName: orders
      containers:
      - name: app
        image: registry.example/orders:1
`
	rendered := render(t, cluster, binding, deployment)
	r := e.run(rendered, "apply", "--assume-role", "arn:{partition}:iam::{account}:role/iambind")
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	assoc := e.eks.Associations("prod")[0]

	// The injected environment of container app, and its token volume.
	env, audience := injectedEnv(t, rendered)
	if audience != generator.PodIdentityPrincipal {
		t.Fatalf("token audience %q", audience)
	}
	for _, k := range []string{generator.EnvContainerCredentialsFullURI, generator.EnvContainerAuthTokenFile} {
		if env[k] == "" {
			t.Fatalf("%s not injected: %v", k, env)
		}
	}

	// The agent.
	const token = "eyJhbGciOiJSUzI1NiJ9.projected-serviceaccount-token.sig"
	stsBase := sts.New(sts.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
	calls := 0
	agent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		if r.Method != http.MethodGet || r.URL.Path != "/v1/credentials" || r.Header.Get("Authorization") != token {
			http.Error(w, `{"message":"invalid token"}`, http.StatusForbidden)
			return
		}
		first, err := stsBase.AssumeRole(r.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(assoc.RoleARN), RoleSessionName: aws.String("eks-prod-orders")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c := first.Credentials
		chained := sts.New(sts.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.moto.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
		second, err := chained.AssumeRole(r.Context(), &sts.AssumeRoleInput{RoleArn: aws.String(assoc.TargetRoleARN),
			RoleSessionName: aws.String("eks-prod-orders"), ExternalId: aws.String(assoc.ExternalID)})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		c = second.Credentials
		_ = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId": aws.ToString(c.AccessKeyId), "SecretAccessKey": aws.ToString(c.SecretAccessKey),
			"Token": aws.ToString(c.SessionToken), "AccountId": targetAccount,
			"Expiration": aws.ToTime(c.Expiration).UTC().Format(time.RFC3339),
		})
	}))
	t.Cleanup(agent.Close)

	// The process: the injected env, nothing else of AWS's but the STS endpoint.
	root := t.TempDir()
	tokenFile := filepath.Join(root, env[generator.EnvContainerAuthTokenFile])
	if err := os.MkdirAll(filepath.Dir(tokenFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	fullURI := strings.Replace(env[generator.EnvContainerCredentialsFullURI], "http://169.254.170.23", agent.URL, 1)
	if fullURI == env[generator.EnvContainerCredentialsFullURI] {
		t.Fatalf("the injected URI %q is not the agent's", fullURI)
	}
	childEnv := []string{credentialChildEnv + "=1", "HOME=" + root, "PATH=" + os.Getenv("PATH"),
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_ENDPOINT_URL_STS=" + e.moto.Endpoint,
		generator.EnvContainerCredentialsFullURI + "=" + fullURI,
		generator.EnvContainerAuthTokenFile + "=" + tokenFile,
	}
	for k, v := range env {
		if k != generator.EnvContainerCredentialsFullURI && k != generator.EnvContainerAuthTokenFile {
			childEnv = append(childEnv, k+"="+v)
		}
	}
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestCredentialChild$", "-test.count=1")
	cmd.Env = childEnv
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the process failed: %v\n%s", err, out)
	}
	want := "arn=arn:aws:sts::" + targetAccount + ":assumed-role/shop-orders/eks-prod-orders account=" + targetAccount + " source=CredentialsEndpointProvider"
	t.Logf("the process: %s", out)
	if !strings.Contains(string(out), want) || calls == 0 {
		t.Fatalf("the process is not the target role (agent calls %d):\n%s\nwant %s", calls, out, want)
	}
}

// injectedEnv returns the env of the first container of the rendered
// Deployment and the audience of its Pod Identity token volume.
func injectedEnv(t *testing.T, rendered string) (map[string]string, string) {
	t.Helper()
	objs, err := fn.ParseKubeObjects([]byte(rendered))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		var d struct {
			Spec struct {
				Template struct {
					Spec struct {
						Containers []struct {
							Env []struct{ Name, Value string }
						}
						Volumes []struct {
							Name      string
							Projected struct {
								Sources []struct {
									ServiceAccountToken struct{ Audience string } `json:"serviceAccountToken"`
								}
							}
						}
					}
				}
			}
		}
		if err := o.As(&d); err != nil {
			t.Fatal(err)
		}
		env := map[string]string{}
		for _, e := range d.Spec.Template.Spec.Containers[0].Env {
			env[e.Name] = e.Value
		}
		audience := ""
		for _, v := range d.Spec.Template.Spec.Volumes {
			if v.Name == generator.PodIdentityTokenVolumeName && len(v.Projected.Sources) > 0 {
				audience = v.Projected.Sources[0].ServiceAccountToken.Audience
			}
		}
		return env, audience
	}
	t.Fatal("no Deployment in the rendered output")
	return nil, ""
}
