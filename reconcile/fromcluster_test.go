package reconcile_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/kptdev/krm-functions-sdk/go/fn"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/clitest"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
)

// exampleAccount is the account of the committed examples.
const exampleAccount = "111122223333"

func repoFile(t *testing.T, rel string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(file)), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// writeKubeconfig writes the admin credentials of a test API server.
func writeKubeconfig(t *testing.T, s *kubetest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := s.WriteKubeconfig(path); err != nil {
		t.Fatal(err)
	}
	return path
}

func iamCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := clitest.Run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestApplyFromCluster: plan ConfigMaps applied to a real API server are
// reconciled into moto with `apply --from-cluster`, and the outcome is written
// back onto each ConfigMap; a refusal marks them Error with the reason.
func TestApplyFromCluster(t *testing.T) {
	server := kubetest.StartT(t)
	moto := mototest.StartInAccount(t, exampleAccount)
	moto.SetEnv(t)
	kubeconfig := writeKubeconfig(t, server)
	ctx := context.Background()

	// The rendered output of examples/kustomize-transformer, as Argo CD or Flux would apply it.
	objs, err := kubetest.Decode(repoFile(t, "examples/kustomize-transformer/expected.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	applier, err := kubetest.NewApplier(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"shop", "shop-batch", "kube-system"} {
		nsObj, _ := kubetest.Decode([]byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + "}\n"))
		if _, err := applier.Create(ctx, nsObj[0], false); err != nil && !strings.Contains(err.Error(), "already exists") {
			t.Fatal(err)
		}
	}
	if err := applier.CreateAll(ctx, objs, false); err != nil {
		t.Fatal(err)
	}

	t.Run("prune with namespace is refused", func(t *testing.T) {
		code, _, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--prune", "--namespace", "shop")
		if code != 1 || !strings.Contains(stderr, "--prune with --namespace") {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
	})

	t.Run("-f and --from-cluster are exclusive", func(t *testing.T) {
		code, _, stderr := iamCLI(t, "plan", "--from-cluster", "-f", "x.yaml")
		if code != 1 || !strings.Contains(stderr, "either -f or --from-cluster") {
			t.Fatalf("exit %d, stderr %s", code, stderr)
		}
	})

	t.Run("a cross-namespace binding is refused unless its namespace is trusted", func(t *testing.T) {
		// shop's binding also names shop-batch:orders-worker.
		code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
		if code != 1 || !strings.Contains(stdout, "roles: 1 created") {
			t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
		}
		if st, msg := status(t, client, "shop/iambind-orders"); st != "Error" || !strings.Contains(msg, `"system:serviceaccount:shop-batch:orders-worker", outside namespace shop`) {
			t.Errorf("shop/iambind-orders: status %q message %q", st, msg)
		}
		if st, msg := status(t, client, "kube-system/iambind-ebs-csi-controller-sa"); st != "Synced" {
			t.Errorf("kube-system's plan must converge beside the refused one: status %q message %q", st, msg)
		}
	})

	t.Run("a refusal fails only its own plan", func(t *testing.T) {
		// A hand-made role with a planned name and no owner tag: apply must refuse it, and only it.
		c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
		if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shop-orders"), Path: aws.String("/iambind/"),
			AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`)}); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--trusted-namespaces", "shop")
		if code != 1 || !strings.Contains(stderr, "--adopt") || !strings.Contains(stderr, "1 of 2 plan(s) failed") {
			t.Fatalf("apply over a foreign role: exit %d, stderr %s", code, stderr)
		}
		if st, msg := status(t, client, "shop/iambind-orders"); st != "Error" || !strings.Contains(msg, "adopt") {
			t.Errorf("shop/iambind-orders: status %q message %q, want Error naming --adopt", st, msg)
		}
		if st, msg := status(t, client, "kube-system/iambind-ebs-csi-controller-sa"); st != "Synced" {
			t.Errorf("kube-system: status %q message %q", st, msg)
		}
		if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("shop-orders")}); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("apply writes Synced and plan shows no change", func(t *testing.T) {
		code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--trusted-namespaces", "shop")
		if code != 0 {
			t.Fatalf("apply --from-cluster: exit %d\n%s\n%s", code, stdout, stderr)
		}
		if !strings.Contains(stdout, "roles: 1 created, 0 updated, 0 deleted, 1 unchanged") {
			t.Errorf("summary: %s", stdout)
		}
		for _, cm := range []string{"shop/iambind-orders", "kube-system/iambind-ebs-csi-controller-sa"} {
			ns, name, _ := strings.Cut(cm, "/")
			got, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ann := got.Annotations
			if ann[kube.StatusAnnotation] != "Synced" || ann[kube.MessageAnnotation] != "" {
				t.Errorf("%s: status %q message %q", cm, ann[kube.StatusAnnotation], ann[kube.MessageAnnotation])
			}
			if ann[kube.AppliedHashAnnotation] != kube.RoleHash(got.Data["role.json"]) || ann[kube.AppliedAtAnnotation] == "" {
				t.Errorf("%s: hash %q applied-at %q", cm, ann[kube.AppliedHashAnnotation], ann[kube.AppliedAtAnnotation])
			}
		}
		code, stdout, stderr = iamCLI(t, "plan", "--from-cluster", "--kubeconfig", kubeconfig, "--trusted-namespaces", "shop", "--detailed-exitcode")
		if code != 0 {
			t.Errorf("plan --from-cluster after apply: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
}

// status is a plan ConfigMap's iambind.dev/status and message.
func status(t *testing.T, client kubernetes.Interface, nsName string) (string, string) {
	t.Helper()
	ann := annotations(t, client, nsName)
	return ann[kube.StatusAnnotation], ann[kube.MessageAnnotation]
}

func annotations(t *testing.T, client kubernetes.Interface, nsName string) map[string]string {
	t.Helper()
	ns, name, _ := strings.Cut(nsName, "/")
	cm, err := client.CoreV1().ConfigMaps(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return cm.Annotations
}

// TestCheckRealToken: a TokenRequest token minted by a real API server for an
// annotated ServiceAccount is admitted by its rendered trust policy (`check
// --token`), and a token of another ServiceAccount is not, with the reason.
func TestCheckRealToken(t *testing.T) {
	server := kubetest.StartT(t)
	ctx := context.Background()
	client, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	items, err := fn.ParseKubeObjects([]byte(`apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: test}
spec:
  accountID: "111122223333"
  issuer: ` + kubetest.Issuer + `
---
apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata: {name: orders, namespace: shop}
`))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatal(out.Problems)
	}
	rendered, err := (&fn.ResourceList{Items: out.Items}).ToYAML()
	if err != nil {
		t.Fatal(err)
	}
	plan := filepath.Join(t.TempDir(), "rendered.yaml")
	if err := os.WriteFile(plan, rendered, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	token := func(sa string) string {
		if _, err := client.CoreV1().ServiceAccounts("shop").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		tr, err := client.CoreV1().ServiceAccounts("shop").CreateToken(ctx, sa, &authenticationv1.TokenRequest{
			Spec: authenticationv1.TokenRequestSpec{Audiences: []string{"sts.amazonaws.com"}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	code, stdout, stderr := iamCLI(t, "check", "-f", plan, "--token", token("orders"))
	if code != 0 || !strings.Contains(stdout, "shop-orders") || !strings.Contains(stdout, "can assume 1 role") {
		t.Errorf("the orders token: exit %d\n%s%s", code, stdout, stderr)
	}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token("payments")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ = iamCLI(t, "check", "-f", plan, "--token", "@"+tokenFile)
	if code != 1 || !strings.Contains(stdout, "system:serviceaccount:shop:payments") || !strings.Contains(stdout, "cannot assume") {
		t.Errorf("the payments token must be refused with a reason: exit %d\n%s", code, stdout)
	}
}
