package reconcile

import (
	"context"
	"io"

	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/iam"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// applied is what apply did, per service.
type applied struct {
	iam         *iam.Result         // its Errors hold every service's failures
	podIdentity *podidentity.Result // nil without associations
	discovery   *discovery.Result
	interrupted bool // a stop was asked for (SIGTERM, SIGINT) while applying
}

// applyPlan runs the plan's phases: issuers first (IAM and token verifiers
// fetch them once the provider exists), then IAM's providers and role
// upserts, then EKS Pod Identity associations (they name roles that must
// exist), then role deletions (a role goes only once its associations are
// gone). log gets one line per write, progress a call per role; both may
// be nil.
func applyPlan(ctx context.Context, f *runner, clients *awsapi.Clients, podIdentity *podIdentityRoom,
	observer *iam.Observer, opts iam.Options, plan *Plan, log io.Writer, progress func(done, total int)) applied {
	ex := &iam.Executor{IAM: clients.IAM, Observer: observer, Options: opts, Concurrency: f.Concurrency, Log: log, Progress: progress}
	var done applied
	done.discovery = applyDiscovery(ctx, clients, plan, log)
	res := ex.Upsert(ctx, plan.Plan)
	if podIdentity != nil {
		done.podIdentity = podIdentity.apply(ctx, plan.PodIdentity, log, res.RoleErrors)
		for role, err := range done.podIdentity.RoleErrors {
			if _, failed := res.RoleErrors[role]; !failed {
				res.RoleErrors[role] = err // a plan's status says Error when its associations failed
			}
		}
	}
	if done.podIdentity != nil && len(done.podIdentity.Errors) > 0 {
		iam.KeepDeletions(plan.Plan, res, done.podIdentity.Errors)
	} else {
		ex.Delete(ctx, plan.Plan, res)
	}
	res.Errors = append(done.discovery.Errors, res.Errors...)
	done.iam = res
	done.interrupted = awsapi.StopRequested(ctx)
	return done
}
