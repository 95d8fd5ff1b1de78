package reconcile

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/change"
)

// TestWellKnownRoundTripsThroughIAM applies every well-known add-on policy
// of the generator's golden cases (every name, with and without
// parameters) into moto, and reads each inline document back: IAM returns
// exactly the canonical document of the plan, and a second plan sees no
// change.
func TestWellKnownRoundTripsThroughIAM(t *testing.T) {
	e := newEnv(t)
	cases, err := filepath.Glob(filepath.Join("..", "generator", "testdata", "golden", "wellknown-*"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	docs := []string{}
	for i, dir := range cases {
		if strings.HasSuffix(dir, "govcloud") {
			continue // moto serves the aws partition
		}
		if i == 0 {
			cluster, err := os.ReadFile(filepath.Join(dir, "cluster.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			// The roles live in moto's account.
			docs = append(docs, strings.Replace(string(cluster), `"111122223333"`, `"`+fixture.Account+`"`, 1))
		}
		bindings, err := os.ReadFile(filepath.Join(dir, "binding.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, string(bindings))
	}
	rendered := fixture.Render(t, docs...)
	plan := readString(t, rendered)
	names := map[string]bool{}
	for _, d := range plan.Roles {
		for name := range d.InlinePolicies {
			if strings.HasPrefix(name, "wellKnown-") {
				names[strings.TrimPrefix(name, "wellKnown-")] = true
			}
		}
	}
	for _, want := range []string{"awsLoadBalancerController", "certManager", "clusterAutoscaler", "externalDNS", "externalSecrets", "karpenter", "mountpointS3CSI", "velero", "vpcCNI"} {
		if !names[want] {
			t.Errorf("no inline wellKnown-%s in the rendered plans", want)
		}
	}

	e.apply(rendered)
	e.requireMatches(rendered)
	ctx := context.Background()
	checked := 0
	for _, d := range plan.Roles {
		for name, doc := range d.InlinePolicies {
			out, err := e.iam.GetRolePolicy(ctx, &awsiam.GetRolePolicyInput{RoleName: aws.String(d.Name), PolicyName: aws.String(name)})
			if err != nil {
				t.Fatalf("role %s policy %s: %v", d.Name, name, err)
			}
			back, err := change.DecodeIAMDocument(aws.ToString(out.PolicyDocument))
			if err != nil {
				t.Fatal(err)
			}
			canonical, err := change.CanonicalJSON([]byte(back))
			if err != nil {
				t.Fatal(err)
			}
			if canonical != string(doc) {
				t.Errorf("role %s policy %s changed on the way through IAM:\nplan: %s\nIAM:  %s", d.Name, name, doc, canonical)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no inline policy was checked")
	}
	if code := e.planExit(rendered); code != 0 {
		t.Errorf("plan after apply exits %d, want 0 (no changes)", code)
	}
}
