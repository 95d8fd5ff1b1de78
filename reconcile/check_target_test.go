package reconcile

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/reconcile/iam"
)

// check --eks-cluster follows the association into its target role.
func TestCheckPodIdentityChain(t *testing.T) {
	cluster := eksClusterYAML("prod-cluster", "prod")
	rendered := render(t, cluster, targetBinding("orders"))
	run := func(rendered, sa string) (bool, string) {
		var out strings.Builder
		ok, err := CheckPodIdentity([]string{"-"}, "system:serviceaccount:shop:"+sa, "prod", strings.NewReader(rendered), &out)
		if err != nil {
			t.Fatal(err)
		}
		return ok, out.String()
	}
	ok, out := run(rendered, "orders")
	for _, want := range []string{
		"✓ shop-orders (arn:aws:iam::" + testAccount + ":role/iambind/shop-orders)",
		"→ target role shop-orders (arn:aws:iam::" + targetAccount + ":role/iambind/shop-orders): its trust requires the association's sts:ExternalId, (known after apply)",
		"→ policies: arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
	} {
		if !ok || !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
	if strings.Count(out, "shop-orders (") != 2 {
		t.Errorf("the target role is listed on its own:\n%s", out)
	}
	// A target trust edited to admit another role breaks the chain, and says so.
	broken := strings.ReplaceAll(rendered, `"AWS": "arn:aws:iam::`+testAccount+`:role/iambind/shop-orders"`, `"AWS": "arn:aws:iam::`+testAccount+`:role/iambind/other"`)
	broken = strings.ReplaceAll(broken, `"associationRoleArn": "arn:aws:iam::`+testAccount+`:role/iambind/shop-orders"`, `"associationRoleArn": "arn:aws:iam::`+testAccount+`:role/iambind/shop-orders"`)
	if broken == rendered {
		t.Fatal("edit did not apply")
	}
	ok, out = run(broken, "orders")
	if ok || !strings.Contains(out, "its trust policy does not allow arn:aws:iam::"+testAccount+":role/iambind/shop-orders to sts:AssumeRole") {
		t.Errorf("broken chain: ok=%v\n%s", ok, out)
	}
}

// The markdown access map draws the chain: association role → target role → policies.
func TestMarkdownAccessMapChain(t *testing.T) {
	in := readString(t, render(t, eksClusterYAML("prod-cluster", "prod"), targetBinding("orders")))
	p, err := iam.Diff(in, iam.NewState(), iam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	RenderMarkdown(&buf, &Plan{Plan: p})
	out := buf.String()
	for _, want := range []string{
		`role0["role shop-orders (create)"]`,
		`sa1("ServiceAccount shop/orders")`,
		`sa1 -->|"EKS Pod Identity"| role0`,
		`role3["target role shop-orders in ` + targetAccount + ` (create)"]`,
		`role0 -->|"EKS Pod Identity chains (sts:ExternalId)"| role3`,
		`role3 --> mp4`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}
