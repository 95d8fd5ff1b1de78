package podidentity

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/iambind/iambind/internal/awsapi"
)

// Result is what an apply did to associations.
type Result struct {
	Created, Updated, Deleted, Unchanged int
	Errors                               []error
	// RoleErrors maps a planned role to the first failure of one of its associations.
	RoleErrors map[string]error
}

// Executor applies a Plan.
type Executor struct {
	EKS         API
	Concurrency int
	Log         io.Writer // one line per write; nil for none
	mu          sync.Mutex
}

// Apply runs the plan's changes, each association on its own. failedRoles
// are planned roles whose IAM changes failed: their associations are left
// for the next run (an association to a role that is not as planned would
// hand pods credentials the plan did not say).
func (e *Executor) Apply(ctx context.Context, plan *Plan, failedRoles map[string]error) *Result {
	res := &Result{RoleErrors: map[string]error{}}
	if plan == nil {
		return res
	}
	var mu sync.Mutex
	_ = awsapi.ForEach(ctx, e.Concurrency, len(plan.Changes), func(ctx context.Context, i int) error {
		c := plan.Changes[i]
		var err error
		if ferr, failed := failedRoles[c.Role]; failed && c.Role != "" {
			err = fmt.Errorf("EKS Pod Identity association %s: skipped, role %s was not applied: %v", c.Key(), c.Role, ferr)
		} else {
			err = e.apply(ctx, c)
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			res.Errors = append(res.Errors, err)
			if _, seen := res.RoleErrors[c.Role]; !seen && c.Role != "" {
				res.RoleErrors[c.Role] = err
			}
			return nil
		}
		switch c.Kind {
		case KindCreate:
			res.Created++
		case KindUpdate:
			res.Updated++
		case KindDelete:
			res.Deleted++
		default:
			res.Unchanged++
		}
		return nil
	})
	return res
}

func (e *Executor) apply(ctx context.Context, c Change) error {
	region := inRegion(c.Region)
	cluster := aws.String(c.Cluster)
	fail := func(op string, err error) error {
		return fmt.Errorf("EKS Pod Identity association %s: %s: %s", c.Key(), op, awsapi.ErrorText(err))
	}
	switch c.Kind {
	case KindCreate:
		_, err := e.EKS.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
			ClusterName: cluster, Namespace: aws.String(c.Namespace), ServiceAccount: aws.String(c.ServiceAccount),
			RoleArn: aws.String(c.RoleARN), Tags: c.Tags, // ownership is set at birth, like roles
			TargetRoleArn: optional(c.TargetRoleARN), Policy: optional(c.Policy), DisableSessionTags: optionalBool(c.DisableSessionTags),
		}, region)
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return fmt.Errorf("%w (made since this run observed EKS; run again to reconcile it)", fail("CreatePodIdentityAssociation", err))
		}
		if err != nil {
			return fail("CreatePodIdentityAssociation", err)
		}
		e.logf("EKS Pod Identity association %s: CreatePodIdentityAssociation %s\n", c.Key(), c.RoleARN)
	case KindUpdate:
		if c.Adopt {
			// Tag first: once the association is ours, a crash leaves it owned and reconcilable.
			if _, err := e.EKS.TagResource(ctx, &eks.TagResourceInput{ResourceArn: aws.String(c.ARN), Tags: c.Tags}, region); err != nil {
				return fail("TagResource", err)
			}
			e.logf("EKS Pod Identity association %s: TagResource %s\n", c.Key(), c.Owner)
		}
		if c.RoleARNBefore != c.RoleARN || c.Before != nil {
			in := &eks.UpdatePodIdentityAssociationInput{
				ClusterName: cluster, AssociationId: aws.String(c.AssociationID), RoleArn: aws.String(c.RoleARN),
			}
			if b := c.Before; b != nil {
				// Only what changes is sent: "" removes a target or a policy.
				if b.TargetRoleARN != c.TargetRoleARN {
					in.TargetRoleArn = aws.String(c.TargetRoleARN)
				}
				if b.DisableSessionTags != c.DisableSessionTags {
					in.DisableSessionTags = aws.Bool(c.DisableSessionTags)
				}
				if b.Policy != c.Policy {
					in.Policy = aws.String(c.Policy)
				}
			}
			if _, err := e.EKS.UpdatePodIdentityAssociation(ctx, in, region); err != nil {
				return fail("UpdatePodIdentityAssociation", err)
			}
			e.logf("EKS Pod Identity association %s: UpdatePodIdentityAssociation %s\n", c.Key(), c.RoleARN)
		}
	case KindDelete:
		_, err := e.EKS.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{
			ClusterName: cluster, AssociationId: aws.String(c.AssociationID),
		}, region)
		var nf *types.ResourceNotFoundException
		if err != nil && !errors.As(err, &nf) { // already gone: the goal is reached
			return fail("DeletePodIdentityAssociation", err)
		}
		e.logf("EKS Pod Identity association %s: DeletePodIdentityAssociation %s\n", c.Key(), c.AssociationID)
	}
	return nil
}

func (e *Executor) logf(format string, args ...any) { awsapi.Logf(&e.mu, e.Log, format, args...) }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return aws.String(s)
}

func optionalBool(b bool) *bool {
	if !b {
		return nil
	}
	return aws.Bool(true)
}
