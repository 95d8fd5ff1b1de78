package reconcile_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/kptdev/krm-functions-sdk/go/fn"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/kube"
	"github.com/iambind/iambind/reconcile/safety"
)

const tenantCluster = `apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: prod}
spec:
  accountID: "` + exampleAccount + `"
  issuer: ` + kubetest.Issuer + `
  owner: prod
  rolePath: /iambind/
`

// renderPlans runs the real generator over one IdentityCluster and the given
// bindings and returns the plan ConfigMaps it renders (what a tenant gets
// from `kustomize build` and may `kubectl create`).
func renderPlans(t *testing.T, bindings ...string) []*corev1.ConfigMap {
	t.Helper()
	return renderPlansWith(t, tenantCluster, bindings...)
}

// renderPlansWith renders the bindings with another IdentityCluster.
func renderPlansWith(t *testing.T, cluster string, bindings ...string) []*corev1.ConfigMap {
	t.Helper()
	items, err := fn.ParseKubeObjects([]byte(cluster + "---\n" + strings.Join(bindings, "---\n")))
	if err != nil {
		t.Fatal(err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		t.Fatal(out.Problems)
	}
	var cms []*corev1.ConfigMap
	for _, item := range out.Items {
		if item.GetKind() != "ConfigMap" || item.GetLabel(generator.LabelPlan) != generator.PlanRoleValue {
			continue
		}
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal([]byte(item.String()), &cm); err != nil {
			t.Fatal(err)
		}
		delete(cm.Annotations, "config.kubernetes.io/path")
		delete(cm.Annotations, "internal.config.kubernetes.io/path")
		cms = append(cms, &cm)
	}
	return cms
}

func binding(ns, name, extra string) string {
	return fmt.Sprintf("apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: %s, namespace: %s}\nspec:\n  policies: {managed: [AmazonS3ReadOnlyAccess]}\n%s", name, ns, extra)
}

func createCM(t *testing.T, c kubernetes.Interface, cm *corev1.ConfigMap) {
	t.Helper()
	if _, err := c.CoreV1().ConfigMaps(cm.Namespace).Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating ConfigMap %s/%s: %v", cm.Namespace, cm.Name, err)
	}
}

// resourceVersions of every plan ConfigMap, by namespace/name.
func resourceVersions(t *testing.T, c kubernetes.Interface) map[string]string {
	t.Helper()
	list, err := c.CoreV1().ConfigMaps("").List(context.Background(), metav1.ListOptions{LabelSelector: kube.PlanSelector})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, cm := range list.Items {
		out[cm.Namespace+"/"+cm.Name] = cm.ResourceVersion
	}
	return out
}

// TestFromClusterTenancy is the multi-tenant acceptance test: on
// a real API server with RBAC, a tenant allowed only to create ConfigMaps in
// its own namespace writes, with its own credentials, (a) a plan granting a
// kube-system ServiceAccount AdministratorAccess, (b) a plan taking over
// another namespace's role, (c) a malformed plan. `apply --from-cluster`
// refuses each on its own ConfigMap with no IAM write for them, while the
// other namespaces' plans converge in the same run, and exits 1.
func TestFromClusterTenancy(t *testing.T) {
	server := kubetest.StartT(t, "tenant-evil")
	moto := mototest.StartInAccount(t, exampleAccount)
	moto.SetEnv(t)
	kubeconfig := writeKubeconfig(t, server)
	ctx := context.Background()
	admin, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"shop", "payments", "evil", "bulk"} {
		if _, err := admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The tenant's only right: ConfigMaps in its own namespace.
	if _, err := admin.RbacV1().Roles("evil").Create(ctx, &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "configmap-writer"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"create", "get", "list"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.RbacV1().RoleBindings("evil").Create(ctx, &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "tenant-evil"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "tenant-evil"}},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "configmap-writer"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tenant, err := kubernetes.NewForConfig(server.ForUser("tenant-evil"))
	if err != nil {
		t.Fatal(err)
	}
	iamc := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
	getRole := func(name string) *iam.GetRoleOutput {
		out, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			return nil
		}
		return out
	}
	tag := func(r *iam.GetRoleOutput, key string) string {
		for _, tg := range r.Role.Tags {
			if aws.ToString(tg.Key) == key {
				return aws.ToString(tg.Value)
			}
		}
		return ""
	}

	// shop's plan is applied first: its role exists, tagged with its namespace.
	shop := renderPlans(t, binding("shop", "orders", ""))[0]
	createCM(t, admin, shop)
	if code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig); code != 0 {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, stdout, stderr)
	}
	shopRole := getRole("shop-orders")
	if shopRole == nil || tag(shopRole, safety.TagNamespace) != "shop" {
		t.Fatalf("shop-orders must exist with tag %s=shop: %+v", safety.TagNamespace, shopRole)
	}
	shopTrust := aws.ToString(shopRole.Role.AssumeRolePolicyDocument)

	// The tenant's three plans, created with the tenant's own credentials.
	t.Run("the tenant is confined to its namespace", func(t *testing.T) {
		probe := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "probe", Namespace: "kube-system"}}
		if _, err := tenant.CoreV1().ConfigMaps("kube-system").Create(ctx, probe, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("the tenant could write to kube-system: %v", err)
		}
	})
	// (a) The function's output for a kube-system binding with AdministratorAccess, created in evil.
	admin1 := renderPlans(t, binding("kube-system", "x", "")+"  role: {name: evil-admin}\n")[0]
	admin1.Namespace, admin1.Name = "evil", "iambind-admin"
	rj := admin1.Data[generator.PlanKeyRole]
	admin1.Data[generator.PlanKeyRole] = strings.Replace(rj, `"arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"`, `"arn:aws:iam::aws:policy/AdministratorAccess"`, 1)
	if !strings.Contains(admin1.Data[generator.PlanKeyTrustPolicy], "system:serviceaccount:kube-system:x") {
		t.Fatalf("plan (a) does not trust kube-system:x:\n%s", admin1.Data[generator.PlanKeyTrustPolicy])
	}
	// (b) shop's role name, trusting the tenant's own ServiceAccount.
	takeover := renderPlans(t, binding("evil", "thief", "  role: {name: shop-orders}\n"))[0]
	// (c) A malformed plan.
	broken := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "iambind-broken", Namespace: "evil", Labels: map[string]string{generator.LabelPlan: generator.PlanRoleValue}},
		Data:       map[string]string{generator.PlanKeyRole: `{"name": "evil-broken",`, generator.PlanKeyTrustPolicy: "{}"},
	}
	for _, cm := range []*corev1.ConfigMap{admin1, takeover, broken} {
		createCM(t, tenant, cm)
	}
	// Meanwhile another team adds a plan, and shop's plan changes: both must converge in the same run.
	payments := renderPlans(t, binding("payments", "api", ""))[0]
	createCM(t, admin, payments)
	shop2 := renderPlans(t, binding("shop", "orders", "  role: {description: orders v2}\n"))[0]
	shop.Data = shop2.Data
	if _, err := admin.CoreV1().ConfigMaps("shop").Update(ctx, shop, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
	if code != 1 {
		t.Fatalf("apply with refused plans must exit 1, got %d\n%s\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "roles: 1 created, 1 updated, 0 deleted, 0 unchanged") {
		t.Errorf("the other namespaces' plans must converge in the same run:\n%s\n%s", stdout, stderr)
	}
	for _, want := range []string{"3 of 5 plan(s) failed", "ConfigMap evil/iambind-admin", "ConfigMap evil/iambind-thief", "ConfigMap evil/iambind-broken"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	for cm, want := range map[string]string{
		"evil/iambind-admin":  `grants "system:serviceaccount:kube-system:x", outside namespace evil`,
		"evil/iambind-thief":  "role shop-orders belongs to namespace shop",
		"evil/iambind-broken": "role.json",
	} {
		st, msg := status(t, admin, cm)
		if st != "Error" || !strings.Contains(msg, want) {
			t.Errorf("%s: status %q message %q, want Error with %q", cm, st, msg, want)
		}
	}
	for _, cm := range []string{"shop/iambind-orders", "payments/iambind-api"} {
		if st, msg := status(t, admin, cm); st != "Synced" || msg != "" {
			t.Errorf("%s: status %q message %q, want Synced", cm, st, msg)
		}
	}
	// IAM read back: nothing for the tenant's plans, the others converged.
	if r := getRole("evil-admin"); r != nil {
		t.Errorf("the kube-system admin role was created: %s", aws.ToString(r.Role.Arn))
	}
	if r := getRole("evil-broken"); r != nil {
		t.Error("the malformed plan's role was created")
	}
	shopRole = getRole("shop-orders")
	if got := aws.ToString(shopRole.Role.AssumeRolePolicyDocument); got != shopTrust {
		t.Errorf("shop-orders' trust policy changed:\nbefore %s\nafter  %s", shopTrust, got)
	}
	if trust, _ := url.PathUnescape(aws.ToString(shopRole.Role.AssumeRolePolicyDocument)); strings.Contains(trust, "evil") {
		t.Errorf("shop-orders trusts the tenant: %s", trust)
	}
	if d := aws.ToString(shopRole.Role.Description); d != "orders v2" {
		t.Errorf("shop's change was not applied: description %q", d)
	}
	if tag(shopRole, generator.TagBinding) != "shop/orders" {
		t.Errorf("shop-orders' binding tag is %q", tag(shopRole, generator.TagBinding))
	}
	if r := getRole("payments-api"); r == nil || tag(r, safety.TagNamespace) != "payments" {
		t.Errorf("payments-api must be created with tag %s=payments: %+v", safety.TagNamespace, r)
	}
	roles, err := iamc.ListRoles(ctx, &iam.ListRolesInput{PathPrefix: aws.String("/iambind/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(roles.Roles) != 2 {
		t.Errorf("IAM holds %d iambind roles, want shop-orders and payments-api only", len(roles.Roles))
	}

	t.Run("a no-op run writes nothing to the cluster or IAM", func(t *testing.T) {
		// 20 more plans, so the no-op covers more than a handful.
		var bindings []string
		for i := range 20 {
			bindings = append(bindings, binding("bulk", fmt.Sprintf("app%02d", i), ""))
		}
		for _, cm := range renderPlans(t, bindings...) {
			createCM(t, admin, cm)
		}
		if code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig); code != 1 || !strings.Contains(stdout, "roles: 20 created") {
			t.Fatalf("apply of 20 more plans: exit %d\n%s\n%s", code, stdout, stderr)
		}
		before := resourceVersions(t, admin)
		code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig)
		if code != 1 || !strings.Contains(stdout, "0 created, 0 updated, 0 deleted, 22 unchanged") || !strings.Contains(stdout, " 0 writes") {
			t.Errorf("no-op apply: exit %d\n%s\n%s", code, stdout, stderr)
		}
		after := resourceVersions(t, admin)
		if len(before) != 25 {
			t.Errorf("%d plan ConfigMaps, want 25", len(before))
		}
		for cm, rv := range before {
			if after[cm] != rv {
				t.Errorf("ConfigMap %s was rewritten by a no-op run (resourceVersion %s → %s)", cm, rv, after[cm])
			}
		}
	})

	t.Run("prune keeps the roles of a namespace whose plan failed", func(t *testing.T) {
		cm, err := admin.CoreV1().ConfigMaps("payments").Get(ctx, "iambind-api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[generator.PlanKeyRole] = "not json"
		if _, err := admin.CoreV1().ConfigMaps("payments").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--prune")
		if code != 1 || !strings.Contains(stdout, "0 deleted") {
			t.Errorf("apply --prune: exit %d\n%s\n%s", code, stdout, stderr)
		}
		if getRole("payments-api") == nil {
			t.Error("payments-api was pruned while its plan failed to read")
		}
		if st, _ := status(t, admin, "payments/iambind-api"); st != "Error" {
			t.Errorf("payments/iambind-api: status %q", st)
		}
		// Once the namespace has no plan at all, its role goes.
		if err := admin.CoreV1().ConfigMaps("payments").Delete(ctx, "iambind-api", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		code, stdout, stderr = iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--prune")
		if code != 1 || !strings.Contains(stdout, "1 deleted") || getRole("payments-api") != nil {
			t.Errorf("prune of a namespace with no plan left: exit %d\n%s\n%s", code, stdout, stderr)
		}
		if getRole("shop-orders") == nil {
			t.Error("shop-orders was pruned")
		}
	})
}
