package reconcile

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
)

// With --from-cluster, a plan referencing a policy that does not exist fails
// alone (its ConfigMap says why, with the suggestion); the other plans apply.
func TestClusterPreflightFailsThatPlanAlone(t *testing.T) {
	moto := mototest.Start(t)
	moto.SetEnv(t)
	ctx := context.Background()
	cluster := clusterYAML("c", testIssuer)
	typo := strings.Replace(bindingYAML("pay", "api"), "AmazonS3ReadOnlyAccess", "AmazonS3ReadOnly", 1)
	client := fake.NewClientset(planConfigMaps(t, render(t, cluster, bindingYAML("shop", "orders"), typo))...)
	run := &clusterRun{client: client, now: fixedClock}
	readPlans(ctx, t, run)
	var out, errOut bytes.Buffer
	f := &runner{Config: Config{Command: CommandApply, EndpointURL: moto.Endpoint, Output: "text", Concurrency: 2}}
	res, err := run.reconcile(ctx, f, &out, &errOut)
	if err != nil || res == nil || res.Created != 1 {
		t.Fatalf("apply: %v %+v\n%s\n%s", err, res, out.String(), errOut.String())
	}
	if err := run.writeStatus(ctx, res, err); err != nil {
		t.Fatal(err)
	}
	cm, err := client.CoreV1().ConfigMaps("pay").Get(ctx, "iambind-api", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if msg := cm.Annotations[kube.MessageAnnotation]; cm.Annotations[kube.StatusAnnotation] != "Error" ||
		!strings.Contains(msg, "spec.policies.managed: arn:aws:iam::aws:policy/AmazonS3ReadOnly does not exist; did you mean AmazonS3ReadOnlyAccess?") {
		t.Fatalf("pay/iambind-api: status %q message %q", cm.Annotations[kube.StatusAnnotation], msg)
	}
	iamc := moto.AdminIAM()
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("pay-api")}); err == nil {
		t.Error("the refused plan's role was created")
	}
	if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("shop-orders")}); err != nil {
		t.Errorf("the good plan's role: %v", err)
	}
}
