package podidentity

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/iambind/iambind/internal/awsapi"
)

// API is the part of the EKS client this room calls (*eks.Client has it).
type API interface {
	eks.ListPodIdentityAssociationsAPIClient
	DescribePodIdentityAssociation(context.Context, *eks.DescribePodIdentityAssociationInput, ...func(*eks.Options)) (*eks.DescribePodIdentityAssociationOutput, error)
	CreatePodIdentityAssociation(context.Context, *eks.CreatePodIdentityAssociationInput, ...func(*eks.Options)) (*eks.CreatePodIdentityAssociationOutput, error)
	UpdatePodIdentityAssociation(context.Context, *eks.UpdatePodIdentityAssociationInput, ...func(*eks.Options)) (*eks.UpdatePodIdentityAssociationOutput, error)
	DeletePodIdentityAssociation(context.Context, *eks.DeletePodIdentityAssociationInput, ...func(*eks.Options)) (*eks.DeletePodIdentityAssociationOutput, error)
	TagResource(context.Context, *eks.TagResourceInput, ...func(*eks.Options)) (*eks.TagResourceOutput, error)
}

// listPageSize is the maxResults asked of ListPodIdentityAssociations (the model's maximum).
const listPageSize = 200

// inRegion sends one call to the EKS endpoint of the cluster's region.
func inRegion(region string) func(*eks.Options) {
	return func(o *eks.Options) {
		if region != "" {
			o.Region = region
		}
	}
}

// Observer reads the associations of the plan's EKS clusters. It only reads.
type Observer struct {
	EKS         API
	Concurrency int
}

type clusterRef struct{ region, name string }

// Observe lists the associations of every EKS cluster the desired
// associations name (one paged ListPodIdentityAssociations per cluster) and
// describes those it needs details of: the ServiceAccounts in the plan, or,
// for prune, all of them (tags are only in the details).
func (ob *Observer) Observe(ctx context.Context, desired []*Desired, prune bool) (*State, error) {
	state := &State{Associations: map[string]*Observed{}, Complete: true}
	wanted := map[string]bool{}
	var clusters []clusterRef
	for _, d := range desired {
		wanted[d.Key()] = true
		if c := (clusterRef{d.Region, d.Cluster}); !slices.Contains(clusters, c) {
			clusters = append(clusters, c)
		}
	}
	var toDescribe []types.PodIdentityAssociationSummary
	regionOf := map[string]string{}
	for _, c := range clusters {
		regionOf[c.name] = c.region
		p := eks.NewListPodIdentityAssociationsPaginator(ob.EKS, &eks.ListPodIdentityAssociationsInput{
			ClusterName: aws.String(c.name), MaxResults: aws.Int32(listPageSize),
		})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx, inRegion(c.region))
			if err != nil {
				var nf *types.ResourceNotFoundException
				if errors.As(err, &nf) {
					return nil, fmt.Errorf("EKS cluster %s (region %s): not found; check IdentityCluster spec.eksClusterName and spec.region: %w", c.name, c.region, err)
				}
				return nil, fmt.Errorf("EKS cluster %s: ListPodIdentityAssociations: %w", c.name, err)
			}
			for _, s := range page.Associations {
				key := aws.ToString(s.ClusterName) + "/" + aws.ToString(s.Namespace) + "/" + aws.ToString(s.ServiceAccount)
				if prune || wanted[key] {
					toDescribe = append(toDescribe, s)
				}
			}
		}
	}
	var mu sync.Mutex
	err := awsapi.ForEach(ctx, ob.Concurrency, len(toDescribe), func(ctx context.Context, i int) error {
		s := toDescribe[i]
		cluster := aws.ToString(s.ClusterName)
		out, err := ob.EKS.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{
			ClusterName: s.ClusterName, AssociationId: s.AssociationId,
		}, inRegion(regionOf[cluster]))
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return nil // deleted between the list and now: it does not exist
		}
		if err != nil {
			return fmt.Errorf("EKS cluster %s: DescribePodIdentityAssociation %s: %w", cluster, aws.ToString(s.AssociationId), err)
		}
		a := out.Association
		o := &Observed{
			Cluster: cluster, Region: regionOf[cluster], Namespace: aws.ToString(a.Namespace), ServiceAccount: aws.ToString(a.ServiceAccount),
			ID: aws.ToString(a.AssociationId), ARN: aws.ToString(a.AssociationArn), RoleARN: aws.ToString(a.RoleArn), Tags: a.Tags,
			TargetRoleARN: aws.ToString(a.TargetRoleArn), Policy: aws.ToString(a.Policy), ExternalID: aws.ToString(a.ExternalId),
			DisableSessionTags: aws.ToBool(a.DisableSessionTags),
		}
		if o.Tags == nil {
			o.Tags = map[string]string{}
		}
		mu.Lock()
		state.Associations[o.Key()] = o
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return state, nil
}
