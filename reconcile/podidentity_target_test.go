package reconcile

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/internal/mototest"
	"github.com/iambind/iambind/reconcile/change"
)

const targetAccount = "210987654321"

// targetBinding is shop/<name> of ServiceAccount shop/<name>, in mode
// podIdentity with its policies on a target role in targetAccount.
func targetBinding(name string) string {
	return `apiVersion: iambind.dev/v1alpha1
kind: IdentityBinding
metadata:
  name: ` + name + `
  namespace: shop
spec:
  mode: podIdentity
  podIdentity: {targetAccountID: "` + targetAccount + `"}
  policies:
    managed: [AmazonS3ReadOnlyAccess]
`
}

// iamInAccount is an IAM client acting in account through an assumed role
// (moto grants any AssumeRole into another account).
func (e *piEnv) iamInAccount(account string) *iam.Client {
	base := sts.New(sts.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.moto.Endpoint),
		Credentials: credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, "")})
	creds := aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(base, "arn:aws:iam::"+account+":role/test"))
	return iam.New(iam.Options{Region: mototest.Region, BaseEndpoint: aws.String(e.moto.Endpoint), Credentials: creds})
}

func roleTrust(t *testing.T, c *iam.Client, name string) (generator.PolicyDocument, bool) {
	t.Helper()
	out, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if strings.Contains(err.Error(), "NoSuchEntity") {
			return generator.PolicyDocument{}, false
		}
		t.Fatal(err)
	}
	doc, err := change.DecodeIAMDocument(aws.ToString(out.Role.AssumeRolePolicyDocument))
	if err != nil {
		t.Fatal(err)
	}
	var pd generator.PolicyDocument
	if err := json.Unmarshal([]byte(doc), &pd); err != nil {
		t.Fatal(err)
	}
	return pd, true
}

// The whole life of a binding with a target role in another account:
// refused without a way into the account, planned with the externalId
// known after apply, applied (target role, association role, association,
// then the target trust pinned to the externalId), a no-op, a re-pin after
// the association is re-made, and prune.
func TestIntegrationPodIdentityTargetRole(t *testing.T) {
	e := newPIEnv(t)
	ctx := context.Background()
	cluster := eksClusterYAML("prod-cluster", "prod")
	rendered := render(t, cluster, targetBinding("orders"), targetBinding("billing"))
	targetIAM := e.iamInAccount(targetAccount)
	assume := []string{"--assume-role", "arn:{partition}:iam::{account}:role/iambind"}

	// No --assume-role: the target account is unreachable, refused before any write.
	r := e.run(rendered, "apply")
	if r.code != 1 || !strings.Contains(r.stderr, "account "+targetAccount+", which no --assume-role template reaches") {
		t.Fatalf("apply without --assume-role: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if _, exists := roleTrust(t, e.iam, "shop-orders"); exists || len(e.eks.Associations("prod")) != 0 {
		t.Fatal("the refused apply wrote something")
	}

	// plan: the association's externalId is known after apply, in text and JSON.
	r = e.run(rendered, append([]string{"plan"}, assume...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "externalId: (known after apply)") ||
		!strings.Contains(r.stdout, "target role arn:aws:iam::"+targetAccount+":role/iambind/shop-orders: its trust will be pinned to the sts:ExternalId of association(s) prod/shop/orders: (known after apply)") {
		t.Fatalf("plan: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = e.run(rendered, append([]string{"plan", "-o", "json"}, assume...)...)
	if r.code != 0 || !strings.Contains(r.stdout, `"externalId": "(known after apply)"`) || !strings.Contains(r.stdout, `"targetRoleArn": "arn:aws:iam::`+targetAccount+`:role/iambind/shop-orders"`) {
		t.Fatalf("plan -o json: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	r = e.run(rendered, append([]string{"apply"}, assume...)...)
	if r.code != 0 {
		t.Fatalf("apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The target account's part runs first; the pin comes last.
	if a, b := strings.Index(r.stdout, "== account "+targetAccount), strings.Index(r.stdout, "UpdateAssumeRolePolicy ("); a < 0 || b < a {
		t.Errorf("apply output lacks the target account or the pin:\n%s", r.stdout)
	}
	assocs := e.eks.Associations("prod")
	if len(assocs) != 2 {
		t.Fatalf("associations: %+v", assocs)
	}
	externalIDs := map[string]string{}
	for _, a := range assocs {
		want := "arn:aws:iam::" + targetAccount + ":role/iambind/shop-" + a.ServiceAccount
		if a.TargetRoleARN != want || a.ExternalID == "" || a.RoleARN != "arn:aws:iam::"+testAccount+":role/iambind/shop-"+a.ServiceAccount {
			t.Errorf("association %s: %+v", a.ServiceAccount, a)
		}
		externalIDs[a.ServiceAccount] = a.ExternalID
	}
	checkPinned := func(name string) {
		t.Helper()
		trust, ok := roleTrust(t, targetIAM, "shop-"+name)
		if !ok {
			t.Fatalf("target role shop-%s missing in account %s", name, targetAccount)
		}
		st := trust.Statement[0]
		if len(trust.Statement) != 1 || strings.Join(st.Principal["AWS"], ",") != "arn:aws:iam::"+testAccount+":role/iambind/shop-"+name ||
			strings.Join(st.Condition["StringEquals"][generator.ConditionExternalID], ",") != externalIDs[name] ||
			!slices.Equal([]string(st.Action), []string(generator.PodIdentityActions)) {
			t.Errorf("target role shop-%s trust: %+v (externalId %s)", name, trust, externalIDs[name])
		}
	}
	checkPinned("orders")
	checkPinned("billing")
	// The association role may only assume the target role.
	pol, err := e.iam.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("shop-orders"), PolicyName: aws.String(generator.AssumeTargetPolicyName)})
	if err != nil || !strings.Contains(aws.ToString(pol.PolicyDocument), targetAccount) {
		t.Fatalf("association role's permission: %v %+v", err, pol)
	}
	if att, err := e.iam.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("shop-orders")}); err != nil || len(att.AttachedPolicies) != 0 {
		t.Errorf("the association role holds managed policies: %v %+v", err, att)
	}
	if att, err := targetIAM.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("shop-orders")}); err != nil || len(att.AttachedPolicies) != 1 {
		t.Errorf("the target role lacks the binding's policy: %v %+v", err, att)
	}

	// A second apply writes nothing, in either account or EKS.
	r = e.run(rendered, append([]string{"apply"}, assume...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "IAM calls: ") || strings.Contains(r.stdout, "UpdateAssumeRolePolicy") {
		t.Fatalf("no-op apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if m := summaryRE.FindAllStringSubmatch(r.stdout, -1); len(m) == 0 || m[len(m)-1][6] != "0" {
		t.Errorf("no-op apply wrote to IAM:\n%s", r.stdout)
	}
	if m := piSummaryRE.FindStringSubmatch(r.stdout); m == nil || m[6] != "0" {
		t.Errorf("no-op apply wrote to EKS:\n%s", r.stdout)
	}

	// Sharded by account, the association role and the target role are in
	// different runs: neither undoes the pin.
	// (FNV-1a of the account IDs: with 7 shards, 123456789012 is shard 6 and 210987654321 shard 4.)
	for _, shard := range []string{"4/7", "6/7"} {
		r = e.run(rendered, append([]string{"apply", "--shard", shard}, assume...)...)
		if r.code != 0 || strings.Contains(r.stdout, "UpdateAssumeRolePolicy") {
			t.Fatalf("apply --shard %s: exit %d\n%s\n%s", shard, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "2 of 4 planned roles") {
			t.Fatalf("apply --shard %s does not hold one account: %s", shard, r.stderr)
		}
		if m := summaryRE.FindAllStringSubmatch(r.stdout, -1); len(m) == 0 || m[len(m)-1][6] != "0" {
			t.Errorf("apply --shard %s wrote to IAM:\n%s", shard, r.stdout)
		}
	}
	checkPinned("orders")

	// The association is deleted and re-made: the next apply re-pins.
	if _, err := e.eksc.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: aws.String(e.id("shop", "orders"))}); err != nil {
		t.Fatal(err)
	}
	r = e.run(rendered, append([]string{"apply"}, assume...)...)
	if r.code != 0 || !strings.Contains(r.stdout, "UpdateAssumeRolePolicy") {
		t.Fatalf("re-pin apply: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, a := range e.eks.Associations("prod") {
		if a.ServiceAccount == "orders" {
			if a.ExternalID == externalIDs["orders"] {
				t.Fatal("the re-made association kept its externalId")
			}
			externalIDs["orders"] = a.ExternalID
		}
	}
	checkPinned("orders")

	// Prune: orders leaves the plan; its association goes, then both roles.
	smaller := render(t, cluster, targetBinding("billing"))
	r = e.run(smaller, append([]string{"apply", "--prune"}, assume...)...)
	if r.code != 0 {
		t.Fatalf("prune: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got := e.associations(); len(got) != 1 || !strings.HasPrefix(got[0], "shop/billing=") {
		t.Errorf("associations after prune: %v", got)
	}
	if _, exists := roleTrust(t, e.iam, "shop-orders"); exists {
		t.Error("the association role survived prune")
	}
	if _, exists := roleTrust(t, targetIAM, "shop-orders"); exists {
		t.Error("the target role survived prune")
	}
	checkPinned("billing")
}

// A target role that already exists in the target account without
// iambind's owner tag is refused, and taken over with --adopt.
func TestIntegrationPodIdentityTargetRoleAdopt(t *testing.T) {
	e := newPIEnv(t)
	ctx := context.Background()
	rendered := render(t, eksClusterYAML("prod-cluster", "prod"), targetBinding("orders"))
	targetIAM := e.iamInAccount(targetAccount)
	if _, err := targetIAM.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("shop-orders"), Path: aws.String("/iambind/"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + targetAccount + `:root"},"Action":"sts:AssumeRole"}]}`)}); err != nil {
		t.Fatal(err)
	}
	assume := []string{"--assume-role", "arn:{partition}:iam::{account}:role/iambind"}
	r := e.run(rendered, append([]string{"apply"}, assume...)...)
	if r.code == 0 || !strings.Contains(r.stderr, "shop-orders") || !strings.Contains(r.stderr, "--adopt") {
		t.Fatalf("apply over a foreign target role: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	// The refused role is not touched, not even by the pin.
	if trust, _ := roleTrust(t, targetIAM, "shop-orders"); strings.Join(trust.Statement[0].Principal["AWS"], "") != "arn:aws:iam::"+targetAccount+":root" || len(trust.Statement[0].Condition) != 0 {
		t.Fatalf("the foreign target role was changed: %+v", trust)
	}
	r = e.run(rendered, append([]string{"apply", "--adopt"}, assume...)...)
	if r.code != 0 {
		t.Fatalf("apply --adopt: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	trust, _ := roleTrust(t, targetIAM, "shop-orders")
	ext := e.eks.Associations("prod")[0].ExternalID
	if got := trust.Statement[0].Condition["StringEquals"][generator.ConditionExternalID]; len(got) != 1 || got[0] != ext {
		t.Errorf("adopted target role's trust: %+v (externalId %s)", trust, ext)
	}
	tags, err := targetIAM.ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String("shop-orders")})
	if err != nil {
		t.Fatal(err)
	}
	owned := false
	for _, tag := range tags.Tags {
		owned = owned || aws.ToString(tag.Key) == generator.TagOwner && aws.ToString(tag.Value) == "prod-cluster"
	}
	if !owned {
		t.Errorf("the adopted target role is not tagged: %+v", tags.Tags)
	}
}
