package reconcile

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/input"
	"github.com/iambind/iambind/reconcile/podidentity"
)

// podIdentityRoom wires the EKS Pod Identity room (reconcile/podidentity)
// into plan and apply: it observes and diffs after IAM, and applies between
// role upserts and role deletions (renderOrApply's phases), so that roles
// exist before associations name them and associations are gone before
// their role is pruned.
type podIdentityRoom struct {
	eks         *eks.Client
	calls       *awsapi.CallCounter
	desired     []*podidentity.Desired
	concurrency int
}

// newPodIdentityRoom returns nil when the plan has no associations: then
// EKS is never called.
func newPodIdentityRoom(in *input.Input, clients *awsapi.Clients, endpointURL string, concurrency int) (*podIdentityRoom, error) {
	roles := make([]podidentity.Role, 0, len(in.Roles))
	for _, r := range in.Roles {
		roles = append(roles, podidentity.Role{Role: r.Role, Source: r.Source})
	}
	desired, err := podidentity.DesiredAssociations(roles)
	if err != nil {
		return nil, err
	}
	if len(desired) == 0 {
		return nil, nil
	}
	client, counter := awsapi.NewEKS(clients.Config, endpointURL)
	return &podIdentityRoom{eks: client, calls: counter, desired: desired, concurrency: concurrency}, nil
}

// addPodIdentity is the hook plan and apply call after the IAM diff: it
// adds the EKS Pod Identity part to the plan and returns the room that
// applies it (nil when the plan has no associations, and then EKS is never
// called).
func addPodIdentity(ctx context.Context, f *runner, clients *awsapi.Clients, in *input.Input, state *iam.State, plan *Plan, opts iam.Options) (*podIdentityRoom, error) {
	endpoint := f.EKSEndpointURL
	if endpoint == "" {
		endpoint = f.EndpointURL
	}
	room, err := newPodIdentityRoom(in, clients, endpoint, f.Concurrency)
	if err != nil {
		return nil, fmt.Errorf("the plan is invalid, nothing was changed:\n  %s", strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	if room == nil {
		return nil, nil
	}
	// After IAM: whether a role's IRSA trust may go depends on the observed roles.
	if plan.PodIdentity, err = room.plan(ctx, in, state, plan.Owners, opts); err != nil {
		return nil, fmt.Errorf("refusing to %s, nothing was changed:\n  %s", f.Command, strings.ReplaceAll(err.Error(), "\n", "\n  "))
	}
	return room, nil
}

// plan observes the associations and diffs them, then refuses a plan that
// would take a role's IRSA trust away before its associations exist.
func (r *podIdentityRoom) plan(ctx context.Context, in *input.Input, state *iam.State, owners []string, opts iam.Options) (*podidentity.Plan, error) {
	ob := &podidentity.Observer{EKS: r.eks, Concurrency: r.concurrency}
	observed, err := ob.Observe(ctx, r.desired, opts.Prune)
	if err != nil {
		return nil, fmt.Errorf("observing EKS Pod Identity associations: %w", err)
	}
	plan, err := podidentity.Diff(r.desired, observed, owners, podidentity.Options{Prune: opts.Prune, Adopt: opts.Adopt})
	if err != nil {
		return plan, err
	}
	return plan, guardIRSARemoval(in, state, plan)
}

// guardIRSARemoval refuses to drop the web-identity trust of an existing
// role in favour of Pod Identity while any of its associations is still to
// be made: pods that use IRSA now would lose their credentials before Pod
// Identity can give them any. Going through mode both first makes the
// associations exist (iambind migrate prints the steps).
func guardIRSARemoval(in *input.Input, state *iam.State, plan *podidentity.Plan) error {
	var problems []string
	for _, r := range in.Roles {
		if len(r.PodIdentityAssociations) == 0 || len(r.OIDCProviders) > 0 {
			continue // not Pod Identity only: the IRSA trust stays
		}
		o := state.Role(r.Name)
		if o == nil || !strings.Contains(strings.ToLower(o.TrustPolicy), "sts:assumerolewithwebidentity") {
			continue // a new role, or one that no pod reaches through IRSA
		}
		if missing := plan.MissingFor(r.ARN); len(missing) > 0 {
			problems = append(problems, fmt.Sprintf("role %s (%s): the plan removes its IRSA (web identity) trust, but its EKS Pod Identity association(s) %s do not exist yet: pods using IRSA would lose their credentials; apply the binding in mode both first (iambind migrate shows the steps)",
				r.Name, r.Source, strings.Join(missing, ", ")))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s", strings.Join(problems, "\n"))
	}
	return nil
}

// apply makes the association changes, after IAM's role upserts and before
// its deletions. failedRoles are the roles whose changes failed: their
// associations wait.
func (r *podIdentityRoom) apply(ctx context.Context, plan *podidentity.Plan, log io.Writer, failedRoles map[string]error) *podidentity.Result {
	ex := &podidentity.Executor{EKS: r.eks, Concurrency: r.concurrency, Log: log}
	return ex.Apply(ctx, plan, failedRoles)
}
