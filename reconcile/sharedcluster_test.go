package reconcile_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/eksfake"
	"github.com/iambind/iambind/internal/kubetest"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/safety"
)

// TestSharedClusterAttacks is the shared-cluster acceptance test: the Job
// runs as deployed (`apply --from-cluster --prune --cluster FILE
// --guardrails deploy/base/guardrails.yaml`, the shipped boundary created
// first) on a real API server and moto, with a tenant (team-a) that writes
// plan ConfigMaps in its own namespace. Each attack below is one instance of
// a class; each is refused on the attacker's plan only, with a status that
// says why, and the other namespaces' plans converge in the same run.
func TestSharedClusterAttacks(t *testing.T) {
	sc := startSharedCluster(t, "shop", "team-a", "team-b")
	admin, kubeconfig, iamc := sc.admin, sc.kubeconfig, sc.iam
	ctx := context.Background()

	// The operator's setup: the shipped boundary policy and guardrails, and
	// this cluster's IdentityCluster in a file only the operator writes.
	boundary, err := os.ReadFile(filepath.Join("..", "deploy", "base", "boundary-policy.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("iambind-boundary"), PolicyDocument: aws.String(string(boundary))}); err != nil {
		t.Fatal(err)
	}
	// A customer managed policy the guardrails allow by name (under /iambind/)
	// whose document grants code execution as other principals.
	if _, err := iamc.CreatePolicy(ctx, &iam.CreatePolicyInput{PolicyName: aws.String("ops-tools"), Path: aws.String("/iambind/"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject","ssm:Send*"],"Resource":"*"}]}`)}); err != nil {
		t.Fatal(err)
	}
	clusterFile := writeFile(t, "cluster.yaml", tenantCluster)
	guardrails := filepath.Join("..", "deploy", "base", "guardrails.yaml")

	// Another cluster (B) in the same account, with its own namespace
	// team-a and shop: its roles carry its owner and cluster tags.
	otherTrust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::` + exampleAccount + `:oidc-provider/oidc.other.example/id/B"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.other.example/id/B:sub":"system:serviceaccount:team-a:data"}}}]}`
	for _, r := range []struct{ name, ns string }{{"team-a-data", "team-a"}, {"shop-legacy", "shop"}} {
		if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(r.name), Path: aws.String("/iambind/"),
			AssumeRolePolicyDocument: aws.String(otherTrust), Tags: []types.Tag{
				{Key: aws.String(generator.TagOwner), Value: aws.String("cluster-b")},
				{Key: aws.String(safety.TagNamespace), Value: aws.String(r.ns)},
				{Key: aws.String(safety.TagCluster), Value: aws.String("cluster-b")},
			}}); err != nil {
			t.Fatal(err)
		}
	}
	// Cluster B's provider (not iambind's to touch), and a provider an
	// earlier version of this Job made for an attacker's issuer (tagged as
	// this cluster's): prune removes the second only.
	for _, p := range []struct {
		url  string
		tags []types.Tag
	}{
		{"https://oidc.other.example/id/B", nil},
		{"https://issuer.attacker.example/old", []types.Tag{
			{Key: aws.String(generator.TagOwner), Value: aws.String("prod")},
			{Key: aws.String(safety.TagCluster), Value: aws.String("prod")},
		}},
	} {
		if _, err := iamc.CreateOpenIDConnectProvider(ctx, &iam.CreateOpenIDConnectProviderInput{Url: aws.String(p.url),
			ClientIDList: []string{generator.DefaultAudience}, ThumbprintList: []string{"9e99a48a9960b14926bb7f3b02e22da2b0ab7280"}, Tags: p.tags}); err != nil {
			t.Fatal(err)
		}
	}
	// A name squatted before names were confined: team-a holds team-b-payments.
	if _, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("team-b-payments"), Path: aws.String("/iambind/"),
		AssumeRolePolicyDocument: aws.String(otherTrust), Tags: []types.Tag{
			{Key: aws.String(generator.TagOwner), Value: aws.String("prod")},
			{Key: aws.String(safety.TagNamespace), Value: aws.String("team-a")},
			{Key: aws.String(safety.TagCluster), Value: aws.String("prod")},
		}}); err != nil {
		t.Fatal(err)
	}

	// withInline is team-a's binding name with an inline policy of actions.
	withInline := func(name string, actions ...string) string {
		doc, _ := json.Marshal(actions)
		return strings.Replace(binding("team-a", name, ""), "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n",
			"  policies:\n    inline:\n      p: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: "+string(doc)+", Resource: \"*\"}]}\n", 1)
	}
	attacks := map[string]struct {
		cm   *corev1.ConfigMap
		want string // in the plan's status message
	}{}
	attack := func(name, want string, cm *corev1.ConfigMap) {
		cm.Namespace, cm.Name = "team-a", "iambind-"+name
		attacks[name] = struct {
			cm   *corev1.ConfigMap
			want string
		}{cm, want}
	}
	evilCluster := strings.Replace(tenantCluster, kubetest.Issuer, "https://issuer.attacker.example", 1)
	// 1. An issuer the attacker controls.
	attack("foreign-issuer", "not this cluster's issuer", renderPlansWith(t, evilCluster, binding("team-a", "evil-issuer", ""))[0])
	// 2. An audience that would be added to the shared provider.
	attack("audience", `audience "attacker"`, renderPlans(t, binding("team-a", "aud", "  audience: attacker\n"))[0])
	// 3. Cluster B's role of the same namespace, with B's owner in role.json.
	takeover := renderPlans(t, binding("team-a", "data", ""))[0]
	takeover.Data[generator.PlanKeyRole] = strings.Replace(takeover.Data[generator.PlanKeyRole], `"iambind.dev/owner": "prod"`, `"iambind.dev/owner": "cluster-b"`, 1)
	if !strings.Contains(takeover.Data[generator.PlanKeyRole], "cluster-b") {
		t.Fatalf("test setup: owner tag not found in %s", takeover.Data[generator.PlanKeyRole])
	}
	attack("takeover", "belongs to cluster cluster-b", takeover)
	// 6. Another namespace's derived name.
	attack("squat", "is not one of namespace team-a's names", renderPlans(t, binding("team-a", "x", "  role: {name: team-b-orders}\n"))[0])
	// 7. Escalation outside IAM through inline policies, as written and in other case.
	attack("eks-admin", "eks:CreateAccessEntry", renderPlans(t, withInline("eks", "eks:CreateAccessEntry", "eks:AssociateAccessPolicy"))[0])
	attack("ssm", "ssm:SendCommand", renderPlans(t, withInline("ssm", "SSM:sendcommand"))[0])
	attack("lambda", "lambda:UpdateFunctionConfiguration", renderPlans(t, withInline("lambda", "lambda:UpdateFunctionConfiguration"))[0])
	attack("managed", "AmazonSSMFullAccess", renderPlans(t, strings.Replace(binding("team-a", "managed", ""), "AmazonS3ReadOnlyAccess", "AmazonSSMFullAccess", 1))[0])
	attack("managed-by-document", "ssm:SendCommand", renderPlans(t, strings.Replace(binding("team-a", "docs", ""), "AmazonS3ReadOnlyAccess", "arn:aws:iam::"+exampleAccount+":policy/iambind/ops-tools", 1))[0])
	for _, a := range attacks {
		createCM(t, admin, a.cm)
	}
	// The legitimate plans of the same run.
	legit := []*corev1.ConfigMap{
		renderPlans(t, binding("shop", "orders", ""))[0],
		renderPlans(t, binding("team-a", "api", ""))[0],
		renderPlans(t, binding("team-b", "payments", ""))[0], // takes its name back from the squatter
	}
	for _, cm := range legit {
		createCM(t, admin, cm)
	}

	code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--prune", "--kubeconfig", kubeconfig,
		"--cluster", clusterFile, "--guardrails", guardrails)
	if code != 1 {
		t.Fatalf("apply with refused plans must exit 1, got %d\n%s\n%s", code, stdout, stderr)
	}
	for name, a := range attacks {
		st, msg := status(t, admin, "team-a/"+a.cm.Name)
		if st != "Error" || !strings.Contains(msg, a.want) {
			t.Errorf("attack %s: status %q message %q, want Error with %q", name, st, msg, a.want)
		}
	}
	for _, cm := range legit {
		if st, msg := status(t, admin, cm.Namespace+"/"+cm.Name); st != "Synced" {
			t.Errorf("%s/%s: status %q message %q, want Synced", cm.Namespace, cm.Name, st, msg)
		}
	}

	tags := func(name string) map[string]string {
		out, err := iamc.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(name)})
		if err != nil {
			return nil
		}
		m := map[string]string{}
		for _, tg := range out.Tags {
			m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
		}
		return m
	}
	// Cluster B's roles: neither taken over nor pruned.
	for _, name := range []string{"team-a-data", "shop-legacy"} {
		out, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
		if err != nil {
			t.Errorf("cluster B's role %s is gone: %v", name, err)
			continue
		}
		if trust, _ := url.PathUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument)); !strings.Contains(trust, "oidc.other.example") {
			t.Errorf("cluster B's role %s was rewritten: %s", name, trust)
		}
	}
	// No identity provider for the attacker's issuer; the shared provider
	// has the default audience only.
	providers, err := iamc.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range providers.OpenIDConnectProviderList {
		arn := aws.ToString(p.Arn)
		if strings.Contains(arn, "attacker") {
			t.Errorf("an identity provider for the attacker's issuer was created: %s", arn)
		}
		got, err := iamc.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.Arn})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.ClientIDList) != 1 || got.ClientIDList[0] != generator.DefaultAudience {
			t.Errorf("provider %s client IDs %v, want only %s", arn, got.ClientIDList, generator.DefaultAudience)
		}
	}
	arns := map[string]bool{}
	for _, p := range providers.OpenIDConnectProviderList {
		arns[aws.ToString(p.Arn)] = true
	}
	if !arns["arn:aws:iam::"+exampleAccount+":oidc-provider/oidc.other.example/id/B"] {
		t.Error("cluster B's OIDC provider was deleted")
	}
	home := "arn:aws:iam::" + exampleAccount + ":oidc-provider/" + strings.TrimPrefix(kubetest.Issuer, "https://")
	if !arns[home] {
		t.Errorf("this cluster's provider was not created: %v", arns)
	} else if out, err := iamc.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(home)}); err != nil {
		t.Fatal(err)
	} else if tg := tagMapOf(out.Tags); tg[safety.TagCluster] != "prod" || tg[generator.TagOwner] != "prod" {
		t.Errorf("this cluster's provider tags %v, want cluster prod and owner prod", tg)
	}
	// Attack roles were never created.
	for _, name := range []string{"team-a-evil-issuer", "team-a-aud", "team-b-orders", "team-a-eks", "team-a-ssm", "team-a-lambda", "team-a-managed", "team-a-docs"} {
		if _, err := iamc.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)}); err == nil {
			t.Errorf("role %s of an attack was created", name)
		}
	}
	// The legitimate roles carry this cluster's owner, cluster and namespace.
	for name, ns := range map[string]string{"shop-orders": "shop", "team-a-api": "team-a", "team-b-payments": "team-b"} {
		tg := tags(name)
		if tg[generator.TagOwner] != "prod" || tg[safety.TagCluster] != "prod" || tg[safety.TagNamespace] != ns {
			t.Errorf("role %s tags %v, want owner prod, cluster prod, namespace %s", name, tg, ns)
		}
	}

	t.Run("a second run is a no-op for the converged plans", func(t *testing.T) {
		code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--prune", "--kubeconfig", kubeconfig,
			"--cluster", clusterFile, "--guardrails", guardrails)
		if code != 1 || !strings.Contains(stdout, " 0 writes") {
			t.Errorf("second run: exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
}

// TestSharedClusterQuotaFairShare: with the account near its roles quota,
// one tenant's thirty new plans no longer block every namespace. The room
// left is shared out one role per namespace in turn: team-b's two new roles
// and shop's change go through, team-a gets the rest of the room, and only
// team-a's plans beyond it wait, each with a status that says so.
func TestSharedClusterQuotaFairShare(t *testing.T) {
	sc := startSharedCluster(t, "shop", "team-a", "team-b")
	admin, kubeconfig, iamc := sc.admin, sc.kubeconfig, sc.iam
	ctx := context.Background()
	clusterFile := writeFile(t, "cluster.yaml", tenantCluster)
	apply := func() (int, string, string) {
		return iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--cluster", clusterFile)
	}
	shop := renderPlans(t, binding("shop", "orders", ""))[0]
	createCM(t, admin, shop)
	if code, stdout, stderr := apply(); code != 0 {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, stdout, stderr)
	}

	// Fill the account (moto's RolesQuota is 1000) up to 14 free roles.
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	errs := make(chan error, 985)
	sem := make(chan struct{}, 8)
	for i := range 985 {
		sem <- struct{}{}
		go func() {
			defer func() { <-sem }()
			_, err := iamc.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("other-%03d", i)), AssumeRolePolicyDocument: aws.String(trust)})
			errs <- err
		}()
	}
	for range 985 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}

	var bindings []string
	for i := range 30 {
		bindings = append(bindings, binding("team-a", fmt.Sprintf("app%02d", i), ""))
	}
	for _, cm := range renderPlans(t, bindings...) {
		createCM(t, admin, cm)
	}
	for _, cm := range renderPlans(t, binding("team-b", "api", ""), binding("team-b", "worker", "")) {
		createCM(t, admin, cm)
	}
	shop2 := renderPlans(t, binding("shop", "orders", "  role: {description: orders v2}\n"))[0]
	shop.Data = shop2.Data
	if _, err := admin.CoreV1().ConfigMaps("shop").Update(ctx, shop, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	code, stdout, stderr := apply()
	if code != 1 || !strings.Contains(stdout, "roles: 14 created, 1 updated") {
		t.Fatalf("apply near the quota: exit %d, want 1 with 14 created and shop updated\n%s\n%s", code, stdout, stderr)
	}
	for _, cm := range []string{"shop/iambind-orders", "team-b/iambind-api", "team-b/iambind-worker"} {
		if st, msg := status(t, admin, cm); st != "Synced" {
			t.Errorf("%s: status %q message %q, want Synced", cm, st, msg)
		}
	}
	waiting := 0
	for i := range 30 {
		st, msg := status(t, admin, fmt.Sprintf("team-a/iambind-app%02d", i))
		switch {
		case st == "Synced":
		case st == "Error" && strings.Contains(msg, "room for 14 more role(s)") && strings.Contains(msg, "namespace team-a asks for 30"):
			waiting++
		default:
			t.Errorf("team-a/iambind-app%02d: status %q message %q", i, st, msg)
		}
	}
	if waiting != 18 {
		t.Errorf("%d of team-a's plans wait, want 18 (12 of the 14 free roles are team-a's share)", waiting)
	}
}

// TestSharedClusterPodIdentity: a tenant's EKS Pod Identity plan goes
// through the Job when its associations bind only its own namespace's
// ServiceAccounts on this cluster; one binding another namespace's
// ServiceAccount, or another EKS cluster, is refused alone.
func TestSharedClusterPodIdentity(t *testing.T) {
	sc := startSharedCluster(t, "team-a", "team-b")
	admin, kubeconfig := sc.admin, sc.kubeconfig
	fake := eksfake.Start(t, exampleAccount, "us-west-2", "prod", "other")
	cluster := tenantCluster + "  region: us-west-2\n  eksClusterName: prod\n"
	clusterFile := writeFile(t, "cluster.yaml", cluster)
	podBinding := func(ns, name, mode string) string {
		return binding(ns, name, "  mode: "+mode+"\n  serviceAccounts:\n  - {name: "+name+", namespace: "+ns+"}\n")
	}
	legit := renderPlansWith(t, cluster, podBinding("team-b", "api", "podIdentity"))[0]
	both := renderPlansWith(t, cluster, podBinding("team-b", "worker", "both"))[0]
	// team-a's plan, edited to associate team-b's ServiceAccount with team-a's role.
	cross := renderPlansWith(t, cluster, podBinding("team-a", "steal", "podIdentity"))[0]
	cross.Data[generator.PlanKeyRole] = strings.Replace(cross.Data[generator.PlanKeyRole], `"namespace": "team-a"`, `"namespace": "team-b"`, 1)
	// team-a's plan for another EKS cluster in the account.
	otherCluster := strings.Replace(cluster, "eksClusterName: prod", "eksClusterName: other", 1)
	elsewhere := renderPlansWith(t, otherCluster, podBinding("team-a", "elsewhere", "podIdentity"))[0]
	// team-a's binding with a target role in another account: the Job has
	// neither that account's credentials nor the externalId pin.
	chained := renderPlansWith(t, cluster, binding("team-a", "chained", "  mode: podIdentity\n  podIdentity: {targetAccountID: \"210987654321\"}\n  serviceAccounts:\n  - {name: chained, namespace: team-a}\n"))[0]
	for _, cm := range []*corev1.ConfigMap{legit, both, cross, elsewhere, chained} {
		createCM(t, admin, cm)
	}
	if !strings.Contains(cross.Data[generator.PlanKeyRole], `"namespace": "team-b"`) {
		t.Fatalf("test setup: association namespace not edited:\n%s", cross.Data[generator.PlanKeyRole])
	}

	code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", kubeconfig, "--cluster", clusterFile, "--eks-endpoint-url", fake.URL)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (three refused plans)\n%s\n%s", code, stdout, stderr)
	}
	for cm, want := range map[string]string{
		"team-b/iambind-api":       "",
		"team-b/iambind-worker":    "",
		"team-a/iambind-steal":     "binds ServiceAccount team-b/steal, outside namespace team-a",
		"team-a/iambind-elsewhere": `EKS cluster "other"`,
		"team-a/iambind-chained":   "the in-cluster Job does not apply target roles",
	} {
		st, msg := status(t, admin, cm)
		if want == "" && st != "Synced" || want != "" && (st != "Error" || !strings.Contains(msg, want)) {
			t.Errorf("%s: status %q message %q, want %s", cm, st, msg, map[bool]string{true: "Synced", false: "Error with " + want}[want == ""])
		}
	}
	got := map[string]string{}
	for _, c := range []string{"prod", "other"} {
		for _, a := range fake.Associations(c) {
			got[c+"/"+a.Namespace+"/"+a.ServiceAccount] = a.RoleARN
		}
	}
	if len(got) != 2 || got["prod/team-b/api"] == "" || got["prod/team-b/worker"] == "" {
		t.Errorf("associations %v, want team-b's two on cluster prod only", got)
	}
}

// sharedCluster is one shared-cluster test's real API server (with the
// namespaces made) and an IAM client of moto in the example account.
type sharedCluster struct {
	admin      kubernetes.Interface
	kubeconfig string
	iam        *iam.Client
}

func startSharedCluster(t *testing.T, namespaces ...string) *sharedCluster {
	t.Helper()
	server := kubetest.StartT(t)
	moto := mototest.StartInAccount(t, exampleAccount)
	moto.SetEnv(t)
	admin, err := kubernetes.NewForConfig(server.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range namespaces {
		if _, err := admin.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return &sharedCluster{admin: admin, kubeconfig: writeKubeconfig(t, server),
		iam: iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(moto.Endpoint),
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})}
}

// writeFile writes content to a file of the test's own and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSharedClusterNamespaceLimit: the operator's cap on roles per
// namespace (--max-roles-per-namespace) keeps a namespace's roles already in
// IAM, then its new ones in name order; the plans beyond it fail alone and
// other namespaces are not affected.
func TestSharedClusterNamespaceLimit(t *testing.T) {
	sc := startSharedCluster(t, "team-a", "team-b")
	clusterFile := writeFile(t, "cluster.yaml", tenantCluster)
	apply := func() (int, string, string) {
		return iamCLI(t, "apply", "--from-cluster", "--kubeconfig", sc.kubeconfig, "--cluster", clusterFile, "--max-roles-per-namespace", "2")
	}
	createCM(t, sc.admin, renderPlans(t, binding("team-a", "zeta", ""))[0])
	if code, stdout, stderr := apply(); code != 0 {
		t.Fatalf("first apply: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, cm := range renderPlans(t, binding("team-a", "alpha", ""), binding("team-a", "beta", ""), binding("team-a", "gamma", ""), binding("team-b", "api", "")) {
		createCM(t, sc.admin, cm)
	}
	code, stdout, stderr := apply()
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for cm, want := range map[string]string{
		"team-a/iambind-zeta":  "", // already in IAM: kept first
		"team-a/iambind-alpha": "", // first new one by name
		"team-a/iambind-beta":  "more than its limit of 2",
		"team-a/iambind-gamma": "more than its limit of 2",
		"team-b/iambind-api":   "",
	} {
		st, msg := status(t, sc.admin, cm)
		if want == "" && st != "Synced" || want != "" && (st != "Error" || !strings.Contains(msg, want)) {
			t.Errorf("%s: status %q message %q, want %q", cm, st, msg, want)
		}
	}
}

func tagMapOf(tags []types.Tag) map[string]string {
	m := map[string]string{}
	for _, tg := range tags {
		m[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return m
}

// TestSharedClusterPlanLimits: the operator's caps on a tenant plan's
// policies per role and plan size fail that plan alone.
func TestSharedClusterPlanLimits(t *testing.T) {
	sc := startSharedCluster(t, "team-a", "team-b")
	clusterFile := writeFile(t, "cluster.yaml", tenantCluster)
	many := strings.Replace(binding("team-a", "many", ""), "[AmazonS3ReadOnlyAccess]", "[AmazonS3ReadOnlyAccess, AmazonSQSReadOnlyAccess, AmazonSNSReadOnlyAccess]", 1)
	big := strings.Replace(binding("team-a", "big", ""), "  policies: {managed: [AmazonS3ReadOnlyAccess]}\n",
		"  policies:\n    inline:\n      p: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:GetObject\", Resource: \"arn:aws:s3:::"+strings.Repeat("b", 5000)+"/*\"}]}\n", 1)
	for _, cm := range renderPlans(t, many, big, binding("team-a", "small", ""), binding("team-b", "api", "")) {
		createCM(t, sc.admin, cm)
	}
	code, stdout, stderr := iamCLI(t, "apply", "--from-cluster", "--kubeconfig", sc.kubeconfig, "--cluster", clusterFile,
		"--max-policies-per-role", "2", "--max-plan-bytes", "6000")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	for cm, want := range map[string]string{
		"team-a/iambind-many":  "3 policies (managed and inline), more than the limit of 2",
		"team-a/iambind-big":   "more than the limit of 6000 (--max-plan-bytes)",
		"team-a/iambind-small": "",
		"team-b/iambind-api":   "",
	} {
		st, msg := status(t, sc.admin, cm)
		if want == "" && st != "Synced" || want != "" && (st != "Error" || !strings.Contains(msg, want)) {
			t.Errorf("%s: status %q message %q, want %q", cm, st, msg, want)
		}
	}
}
