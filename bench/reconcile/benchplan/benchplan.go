// Package benchplan renders the synthetic iambind plans of the reconcile
// benchmarks (scripts/bench-reconcile.sh) through the real generator.
package benchplan

import (
	"fmt"
	"strings"

	"github.com/kptdev/krm-functions-sdk/go/fn"

	"github.com/iambind/iambind/generator"
)

// Options shape the plan; the zero value of a field takes its default.
type Options struct {
	Account  string // AWS account ID; default moto's 123456789012
	Owner    string // iambind.dev/owner; default "bench"
	RolePath string // default /iambind-bench/
	Prefix   string // binding name prefix; default "app"
	Issuer   string // the one cluster's OIDC issuer
}

// DefaultIssuer is the issuer of the one cluster of every bench plan.
const DefaultIssuer = "https://oidc.eks.us-west-2.amazonaws.com/id/BENCH00000000000000000000000000A1"

// Managed are the AWS managed policies the roles attach (moto loads them
// with MOTO_IAM_LOAD_MANAGED_POLICIES=true), one per role, alternating.
var Managed = []string{"AmazonS3ReadOnlyAccess", "AmazonSQSReadOnlyAccess"}

func (o *Options) defaults() {
	if o.Account == "" {
		o.Account = "123456789012"
	}
	if o.Owner == "" {
		o.Owner = "bench"
	}
	if o.RolePath == "" {
		o.RolePath = "/iambind-bench/"
	}
	if o.Prefix == "" {
		o.Prefix = "app"
	}
	if o.Issuer == "" {
		o.Issuer = DefaultIssuer
	}
}

// Render returns the generator's output (a ResourceList, YAML) for n
// IdentityBindings in one IdentityCluster. Binding i becomes role
// ns<i%10>-<prefix><i, 4 digits> with one managed policy (Managed[i%2]),
// one inline policy "data", a 3600 s max session, a user tag and a trust
// policy for two ServiceAccounts. The plan of n roles is a subset of the
// plan of any larger n. Deterministic.
func Render(n int, o Options) ([]byte, error) {
	o.defaults()
	docs := []string{ClusterYAML(o)}
	for i := 0; i < n; i++ {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: iambind.dev/v1alpha1\nkind: IdentityBinding\nmetadata: {name: %s%04d, namespace: ns%d}\nspec:\n", o.Prefix, i, i%10)
		b.WriteString("  clusters: [bench]\n")
		fmt.Fprintf(&b, "  serviceAccounts: [{name: %s%04d}, {name: %s%04d-worker}]\n", o.Prefix, i, o.Prefix, i)
		fmt.Fprintf(&b, "  role: {tags: {team: t%d}, maxSessionDuration: 3600}\n", i%5)
		fmt.Fprintf(&b, "  policies:\n    managed: [%s]\n", Managed[i%len(Managed)])
		fmt.Fprintf(&b, "    inline:\n      data: {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: [\"s3:GetObject\", \"s3:PutObject\"], Resource: \"arn:aws:s3:::bench-%04d/*\"}]}\n", i)
		docs = append(docs, b.String())
	}
	items, err := fn.ParseKubeObjects([]byte(strings.Join(docs, "---\n")))
	if err != nil {
		return nil, fmt.Errorf("parsing the bindings: %w", err)
	}
	out := generator.Generate(items, nil)
	if out.Problems.HasErrors() {
		return nil, fmt.Errorf("the bindings do not generate: %v", out.Problems)
	}
	return (&fn.ResourceList{Items: out.Items}).ToYAML()
}

// ClusterYAML is the one IdentityCluster of the bench plans, as an operator
// would also give it to the in-cluster Job (--cluster).
func ClusterYAML(o Options) string {
	o.defaults()
	return fmt.Sprintf(`apiVersion: iambind.dev/v1alpha1
kind: IdentityCluster
metadata: {name: bench}
spec:
  accountID: "%s"
  issuer: %s
  owner: %s
  rolePath: %s
`, o.Account, o.Issuer, o.Owner, o.RolePath)
}
