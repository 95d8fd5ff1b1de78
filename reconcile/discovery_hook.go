package reconcile

import (
	"context"
	"fmt"
	"io"

	"github.com/iambind/iambind/reconcile/iam"

	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/discovery"
	"github.com/iambind/iambind/reconcile/input"
)

// The S3 discovery room (reconcile/discovery) plugs into plan and apply
// here: observe + diff after IAM's, apply before IAM's (the issuer is
// published before its OIDC provider is created). Another service's room
// adds three functions like these.

// planDiscovery observes and diffs the input's discovery plans; nil when
// there are none.
func planDiscovery(ctx context.Context, c *awsapi.Clients, in *input.Input, opts iam.Options) (*discovery.Plan, error) {
	if len(in.Discovery) == 0 {
		return nil, nil
	}
	st, err := (&discovery.Observer{S3: c.S3}).Observe(ctx, in.Discovery, opts.Prune)
	if err != nil {
		return nil, fmt.Errorf("observing S3: %w", err)
	}
	return discovery.Diff(in.Discovery, st, discovery.Options{Prune: opts.Prune, Adopt: opts.Adopt})
}

// applyDiscovery publishes the discovery plan (a no-op without one).
func applyDiscovery(ctx context.Context, c *awsapi.Clients, plan *Plan, log io.Writer) *discovery.Result {
	return (&discovery.Executor{S3: c.S3, Log: log}).Apply(ctx, plan.Discovery)
}

func s3Calls(c *awsapi.Clients, plan *Plan) *JSONCalls {
	if plan.Discovery == nil {
		return nil
	}
	return &JSONCalls{Reads: c.S3Calls.Reads(), Writes: c.S3Calls.Writes(), Retries: c.S3Calls.Retries()}
}

func discoveryResult(plan *Plan, r *discovery.Result) *JSONDiscoveryResult {
	if plan.Discovery == nil {
		return nil
	}
	return &JSONDiscoveryResult{BucketsCreated: r.BucketsCreated, BucketsUpdated: r.BucketsUpdated,
		BucketsUnchanged: r.BucketsUnchanged, ObjectsWritten: r.ObjectsWritten, ObjectsDeleted: r.ObjectsDeleted}
}
