package reconcile

import (
	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/internal/testrole"
)

const s3ro = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"

const (
	testAccount = fixture.Account
	testIssuer  = fixture.Issuer
	testIssuer2 = fixture.Issuer2
)

var (
	clusterYAML  = fixture.ClusterYAML
	bindingYAML  = fixture.BindingYAML
	render       = fixture.Render
	readString   = testrole.Read
	testRole     = testrole.Desired
	observedFrom = testrole.Observed
)

func ops(acts []iam.Action) []string {
	out := make([]string, len(acts))
	for i, a := range acts {
		out[i] = string(a.Op)
		if a.Target != "" {
			out[i] += " " + a.Target
		}
	}
	return out
}
