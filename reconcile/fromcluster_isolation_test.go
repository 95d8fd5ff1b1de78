package reconcile

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/iambind/iambind/reconcile/safety"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
)

// planConfigMaps are the plan ConfigMaps of a rendered stream.
func planConfigMaps(t *testing.T, rendered string) []runtime.Object {
	t.Helper()
	objs, err := kubetest.Decode([]byte(rendered))
	if err != nil {
		t.Fatal(err)
	}
	var out []runtime.Object
	for _, o := range objs {
		if o.GetKind() != "ConfigMap" || o.GetLabels()[generator.LabelPlan] != generator.PlanRoleValue {
			continue
		}
		var cm corev1.ConfigMap
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &cm); err != nil {
			t.Fatal(err)
		}
		out = append(out, &cm)
	}
	return out
}

// fixedClock is the time the clusterRun tests stamp on plan statuses.
func fixedClock() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

// readPlans lists run's plan ConfigMaps and reads them, as a from-cluster
// run starts: the clusterRun tests share it and differ only in what they
// put in the cluster and in run.
func readPlans(ctx context.Context, t *testing.T, run *clusterRun) {
	t.Helper()
	listed, err := kube.ListPlans(ctx, run.client, "", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := run.read(listed); err != nil {
		t.Fatal(err)
	}
}

// TestClusterRunIsolation drives one from-cluster run over a fake API server
// and moto: a malformed plan, a cross-namespace plan and a plan claiming
// another namespace's role fail alone, the others converge, and a second run
// writes no status (the fast twin of TestFromClusterTenancy, which uses a real
// API server with RBAC).
func TestClusterRunIsolation(t *testing.T) {
	moto := mototest.Start(t)
	moto.SetEnv(t)
	ctx := context.Background()
	cluster := clusterYAML("c", testIssuer)
	objs := planConfigMaps(t, render(t, cluster, bindingYAML("shop", "orders"), bindingYAML("pay", "api")))
	// Claims pay's role name, for its own ServiceAccount.
	takeover := planConfigMaps(t, render(t, cluster, bindingYAML("evil", "thief")+"  role: {name: pay-api}\n"))[0].(*corev1.ConfigMap)
	// Binds a kube-system ServiceAccount from namespace evil.
	escalate := planConfigMaps(t, render(t, cluster, bindingYAML("kube-system", "x")))[0].(*corev1.ConfigMap)
	escalate.Namespace, escalate.Name = "evil", "iambind-x"
	broken := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "evil", Name: "iambind-broken", Labels: map[string]string{generator.LabelPlan: generator.PlanRoleValue}},
		Data: map[string]string{generator.PlanKeyRole: "{"}}
	client := fake.NewClientset(append(objs, takeover, escalate, broken)...)
	iamc := moto.AdminIAM()

	runOnce := func(prune bool) (int, string) {
		t.Helper()
		var out, errOut bytes.Buffer
		code := 0
		run := &clusterRun{client: client, now: fixedClock}
		readPlans(ctx, t, run)
		f := &runner{Config: Config{Command: CommandApply, EndpointURL: moto.Endpoint, Output: "text", Concurrency: 2, Prune: prune}}
		res, err := run.reconcile(ctx, f, &out, &errOut)
		if err := run.writeStatus(ctx, res, err); err != nil {
			t.Fatal(err)
		}
		if err != nil || len(run.refused()) > 0 {
			code = 1
		}
		return code, out.String() + errOut.String() + strings.Join(run.refused(), "\n")
	}

	// pay's role exists first, tagged with its namespace.
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("pay-api"), Path: aws.String("/iambind/"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[]}`),
		Tags:                     []iamtypes.Tag{{Key: aws.String(generator.TagOwner), Value: aws.String("c")}, {Key: aws.String(safety.TagNamespace), Value: aws.String("pay")}}}); err != nil {
		t.Fatal(err)
	}
	code, out := runOnce(false)
	if code != 1 || !strings.Contains(out, "roles: 1 created, 1 updated") {
		t.Fatalf("exit %d\n%s", code, out)
	}
	want := map[string]string{
		"evil/iambind-broken": "role.json",
		"evil/iambind-x":      "outside namespace evil",
		"evil/iambind-thief":  "role pay-api belongs to namespace pay",
		"shop/iambind-orders": "",
		"pay/iambind-api":     "",
	}
	for cm, msg := range want {
		ns, name, _ := strings.Cut(cm, "/")
		got, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := got.Annotations[kube.StatusAnnotation]
		switch {
		case msg == "" && st != "Synced":
			t.Errorf("%s: status %q message %q, want Synced", cm, st, got.Annotations[kube.MessageAnnotation])
		case msg != "" && (st != "Error" || !strings.Contains(got.Annotations[kube.MessageAnnotation], msg)):
			t.Errorf("%s: status %q message %q, want Error with %q", cm, st, got.Annotations[kube.MessageAnnotation], msg)
		}
	}
	for _, name := range []string{"kube-system-x", "evil-thief"} {
		if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil {
			t.Errorf("role %s was created for a refused plan", name)
		}
	}
	r, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("pay-api")})
	if err != nil || strings.Contains(aws.ToString(r.Role.AssumeRolePolicyDocument), "evil") {
		t.Errorf("pay-api trusts the tenant: %v", err)
	}

	client.ClearActions()
	code, out = runOnce(true)
	if code != 1 || !strings.Contains(out, "0 created, 0 updated, 0 deleted, 2 unchanged") || !strings.Contains(out, " 0 writes") {
		t.Errorf("no-op run: exit %d\n%s", code, out)
	}
	for _, a := range client.Actions() {
		if a.GetVerb() != "list" {
			t.Errorf("a no-op run wrote to the cluster: %s %s", a.GetVerb(), a.GetResource().Resource)
		}
	}
}
