package reconcile

import (
	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// Plan is what `plan` renders and `apply` executes: one part per AWS
// service, each a value the service's diff made (no clients in it). The
// IAM part is embedded: roles and OIDC providers are what most of the
// output is about.
type Plan struct {
	*iam.Plan
	// PodIdentity is the EKS Pod Identity associations' part
	// (reconcile/podidentity), nil when the plan has none.
	PodIdentity *podidentity.Plan
	// Discovery publishes self-hosted issuers on S3 (reconcile/discovery);
	// nil when the input plans none.
	Discovery *discovery.Plan
}

// HasChanges reports whether applying the plan would write anything.
func (p *Plan) HasChanges() bool {
	return p.Plan.HasChanges() || p.PodIdentity.HasChanges() || p.Discovery.HasChanges()
}
