package safety

import (
	"github.com/iambind/iambind/internal/fixture"
	"github.com/iambind/iambind/reconcile/internal/testrole"
)

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
