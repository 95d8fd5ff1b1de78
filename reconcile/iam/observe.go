package iam

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/change"
	"github.com/iambind/iambind/reconcile/input"
)

// bulkPageSize is the MaxItems asked of the paged bulk reads (IAM's maximum).
const bulkPageSize = 1000

// Observer reads current IAM state. It only reads.
type Observer struct {
	IAM         *iam.Client
	Concurrency int
	// Rate is the account's calls/s ceiling (--rate), for the read cost model.
	Rate float64
	// Strategy forces a read strategy; "" lets the cost model choose (readcost.go).
	Strategy ReadStrategy
	// Summary is the run's shared GetAccountSummary (the quota preflight
	// reads the same one); nil: the Observer makes its own.
	Summary *AccountSummary
	// Chosen is the strategy the last Observe used; AccountRoles the
	// account's size when the model had to ask for it (else 0).
	Chosen       ReadStrategy
	AccountRoles int
}

// Observe reads the planned roles (or, when all is set or bulk reads are
// cheaper, every role of the account) and the plan's OIDC providers. Prune
// (all) always reads every role: owned roles that left the plan must be
// found, and neither GetRole nor ListRoles filters by tag.
func (ob *Observer) Observe(ctx context.Context, in *input.Input, all bool) (*State, error) {
	strategy := ob.Strategy
	if all {
		strategy = ReadBulk
	}
	if strategy == ReadAuto {
		var err error
		if strategy, err = ob.chooseReads(ctx, in); err != nil {
			return nil, err
		}
	}
	ob.Chosen = strategy
	var state *State
	var err error
	if strategy == ReadBulk {
		state, err = ob.observeBulk(ctx)
	} else if state, err = ob.observePerRole(ctx, in); err == nil {
		err = ob.observeOrphans(ctx, in, state)
	}
	if err != nil {
		return nil, err
	}
	if err := ob.observeProviders(ctx, in, state); err != nil {
		return nil, err
	}
	return state, nil
}

func (ob *Observer) observeBulk(ctx context.Context) (*State, error) {
	state := NewState()
	state.AllRoles = true
	details := iam.NewGetAccountAuthorizationDetailsPaginator(ob.IAM, &iam.GetAccountAuthorizationDetailsInput{
		Filter: []types.EntityType{types.EntityTypeRole}, MaxItems: aws.Int32(bulkPageSize),
	})
	for details.HasMorePages() {
		page, err := details.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading roles (GetAccountAuthorizationDetails): %w", err)
		}
		for _, d := range page.RoleDetailList {
			o, err := roleFromDetail(d)
			if err != nil {
				return nil, err
			}
			state.AddRole(o)
		}
	}
	// GetAccountAuthorizationDetails has no description or max session.
	roles := iam.NewListRolesPaginator(ob.IAM, &iam.ListRolesInput{MaxItems: aws.Int32(bulkPageSize)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading roles (ListRoles): %w", err)
		}
		for _, r := range page.Roles {
			o := state.Role(aws.ToString(r.RoleName))
			if o == nil {
				// Created between the two reads: this run does not know it.
				continue
			}
			o.Description = aws.ToString(r.Description)
			o.MaxSessionDuration = aws.ToInt32(r.MaxSessionDuration)
		}
	}
	return state, nil
}

func roleFromDetail(d types.RoleDetail) (*ObservedRole, error) {
	name := aws.ToString(d.RoleName)
	o := &ObservedRole{
		Name: name, Path: aws.ToString(d.Path), ARN: aws.ToString(d.Arn),
		InlinePolicies: map[string]string{}, Tags: tagMap(d.Tags),
	}
	var err error
	if o.TrustPolicy, err = change.DecodeIAMDocument(aws.ToString(d.AssumeRolePolicyDocument)); err != nil {
		return nil, fmt.Errorf("role %s: trust policy: %w", name, err)
	}
	if d.PermissionsBoundary != nil {
		o.PermissionsBoundary = aws.ToString(d.PermissionsBoundary.PermissionsBoundaryArn)
	}
	for _, p := range d.AttachedManagedPolicies {
		o.ManagedPolicyARNs = append(o.ManagedPolicyARNs, aws.ToString(p.PolicyArn))
	}
	sort.Strings(o.ManagedPolicyARNs)
	for _, p := range d.RolePolicyList {
		doc, err := change.DecodeIAMDocument(aws.ToString(p.PolicyDocument))
		if err != nil {
			return nil, fmt.Errorf("role %s: inline policy %s: %w", name, aws.ToString(p.PolicyName), err)
		}
		o.InlinePolicies[aws.ToString(p.PolicyName)] = doc
	}
	for _, ip := range d.InstanceProfileList {
		o.InstanceProfiles = append(o.InstanceProfiles, aws.ToString(ip.InstanceProfileName))
	}
	return o, nil
}

func (ob *Observer) observePerRole(ctx context.Context, in *input.Input) (*State, error) {
	state := NewState()
	var mu sync.Mutex
	err := awsapi.ForEach(ctx, ob.Concurrency, len(in.Roles), func(ctx context.Context, i int) error {
		r := in.Roles[i]
		o, err := ob.ObserveRole(ctx, r.Name)
		if err != nil || o == nil {
			return err
		}
		if o.Path != r.Path {
			// A path change replaces the role, which must leave its instance profiles first.
			if o.InstanceProfiles, err = ob.instanceProfiles(ctx, o.Name); err != nil {
				return err
			}
		}
		mu.Lock()
		state.AddRole(o)
		mu.Unlock()
		return nil
	})
	return state, err
}

// orphanTagReadMax is the most unplanned roles under the plan's role path
// whose tags are read one by one (ListRoleTags) to find owned roles that
// left the plan; beyond it one paged GetAccountAuthorizationDetails is cheaper.
const orphanTagReadMax = 4

// observeOrphans finds, for per-role reads, the roles owned by the plan's
// owners that are no longer planned, so the plan can say they stay. Bulk
// reads have them already. ListRoles (one call per 1000 roles, narrowed to
// the plan's common role path) finds the candidates; it returns no tags, so
// the owner of each unplanned candidate is read. Owned roles at another path
// than the plan's are not seen by this path (they are by --prune).
func (ob *Observer) observeOrphans(ctx context.Context, in *input.Input, state *State) error {
	if len(in.Roles) == 0 {
		return nil
	}
	planned := map[string]bool{}
	for _, r := range in.Roles {
		planned[strings.ToLower(r.Name)] = true
	}
	prefix := commonPathPrefix(in)
	var cands []types.Role
	roles := iam.NewListRolesPaginator(ob.IAM, &iam.ListRolesInput{PathPrefix: aws.String(prefix), MaxItems: aws.Int32(bulkPageSize)})
	for roles.HasMorePages() {
		page, err := roles.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("listing roles under %s (ListRoles): %w", prefix, err)
		}
		for _, r := range page.Roles {
			if !planned[strings.ToLower(aws.ToString(r.RoleName))] {
				cands = append(cands, r)
			}
		}
	}
	if len(cands) > orphanTagReadMax {
		details := iam.NewGetAccountAuthorizationDetailsPaginator(ob.IAM, &iam.GetAccountAuthorizationDetailsInput{
			Filter: []types.EntityType{types.EntityTypeRole}, MaxItems: aws.Int32(bulkPageSize),
		})
		for details.HasMorePages() {
			page, err := details.NextPage(ctx)
			if err != nil {
				return fmt.Errorf("reading roles (GetAccountAuthorizationDetails): %w", err)
			}
			for _, d := range page.RoleDetailList {
				if !planned[strings.ToLower(aws.ToString(d.RoleName))] && strings.HasPrefix(aws.ToString(d.Path), prefix) {
					state.AddRole(&ObservedRole{Name: aws.ToString(d.RoleName), Path: aws.ToString(d.Path), ARN: aws.ToString(d.Arn), Tags: tagMap(d.Tags)})
				}
			}
		}
		return nil
	}
	found := make([]*ObservedRole, len(cands))
	err := awsapi.ForEach(ctx, ob.Concurrency, len(cands), func(ctx context.Context, i int) error {
		r := cands[i]
		o := &ObservedRole{Name: aws.ToString(r.RoleName), Path: aws.ToString(r.Path), ARN: aws.ToString(r.Arn), Tags: map[string]string{}}
		tags := iam.NewListRoleTagsPaginator(ob.IAM, &iam.ListRoleTagsInput{RoleName: r.RoleName})
		for tags.HasMorePages() {
			page, err := tags.NextPage(ctx)
			var nse *types.NoSuchEntityException
			if errors.As(err, &nse) {
				return nil // deleted since the listing
			}
			if err != nil {
				return fmt.Errorf("role %s: ListRoleTags: %w", o.Name, err)
			}
			for k, v := range tagMap(page.Tags) {
				o.Tags[k] = v
			}
		}
		found[i] = o
		return nil
	})
	for _, o := range found {
		if o != nil {
			state.AddRole(o)
		}
	}
	return err
}

// commonPathPrefix is the longest path prefix ("/a/b/") all planned roles share.
func commonPathPrefix(in *input.Input) string {
	prefix := in.Roles[0].Path
	for _, r := range in.Roles[1:] {
		for !strings.HasPrefix(r.Path, prefix) {
			prefix = prefix[:len(prefix)-1]
		}
	}
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		return prefix[:i+1]
	}
	return "/"
}

// ObserveRole reads one role with per-role calls; nil when it does not exist.
func (ob *Observer) ObserveRole(ctx context.Context, name string) (*ObservedRole, error) {
	out, err := ob.IAM.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	var nse *types.NoSuchEntityException
	if errors.As(err, &nse) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("role %s: GetRole: %w", name, err)
	}
	r := out.Role
	o := &ObservedRole{
		Name: aws.ToString(r.RoleName), Path: aws.ToString(r.Path), ARN: aws.ToString(r.Arn),
		Description: aws.ToString(r.Description), MaxSessionDuration: aws.ToInt32(r.MaxSessionDuration),
		InlinePolicies: map[string]string{}, Tags: tagMap(r.Tags),
	}
	if o.TrustPolicy, err = change.DecodeIAMDocument(aws.ToString(r.AssumeRolePolicyDocument)); err != nil {
		return nil, fmt.Errorf("role %s: trust policy: %w", name, err)
	}
	if r.PermissionsBoundary != nil {
		o.PermissionsBoundary = aws.ToString(r.PermissionsBoundary.PermissionsBoundaryArn)
	}
	attached := iam.NewListAttachedRolePoliciesPaginator(ob.IAM, &iam.ListAttachedRolePoliciesInput{RoleName: r.RoleName})
	for attached.HasMorePages() {
		page, err := attached.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("role %s: ListAttachedRolePolicies: %w", name, err)
		}
		for _, p := range page.AttachedPolicies {
			o.ManagedPolicyARNs = append(o.ManagedPolicyARNs, aws.ToString(p.PolicyArn))
		}
	}
	sort.Strings(o.ManagedPolicyARNs)
	inline := iam.NewListRolePoliciesPaginator(ob.IAM, &iam.ListRolePoliciesInput{RoleName: r.RoleName})
	for inline.HasMorePages() {
		page, err := inline.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("role %s: ListRolePolicies: %w", name, err)
		}
		for _, pn := range page.PolicyNames {
			pol, err := ob.IAM.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: r.RoleName, PolicyName: aws.String(pn)})
			if err != nil {
				return nil, fmt.Errorf("role %s: GetRolePolicy %s: %w", name, pn, err)
			}
			if o.InlinePolicies[pn], err = change.DecodeIAMDocument(aws.ToString(pol.PolicyDocument)); err != nil {
				return nil, fmt.Errorf("role %s: inline policy %s: %w", name, pn, err)
			}
		}
	}
	return o, nil
}

func (ob *Observer) instanceProfiles(ctx context.Context, role string) ([]string, error) {
	var out []string
	p := iam.NewListInstanceProfilesForRolePaginator(ob.IAM, &iam.ListInstanceProfilesForRoleInput{RoleName: aws.String(role)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("role %s: ListInstanceProfilesForRole: %w", role, err)
		}
		for _, ip := range page.InstanceProfiles {
			out = append(out, aws.ToString(ip.InstanceProfileName))
		}
	}
	return out, nil
}

// observeProviders reads the client IDs of the OIDC providers the plan
// uses, one GetOpenIDConnectProvider per issuer: the plan knows their ARNs,
// so listing the account's providers first would only cost a read more
// (NoSuchEntity means the provider does not exist yet).
func (ob *Observer) observeProviders(ctx context.Context, in *input.Input, state *State) error {
	wanted := map[string]bool{}
	var arns []string
	for _, p := range in.OIDCProviders() {
		if !wanted[p.ARN] {
			wanted[p.ARN] = true
			arns = append(arns, p.ARN)
		}
	}
	for _, arn := range arns {
		out, err := ob.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: aws.String(arn)})
		var nse *types.NoSuchEntityException
		if errors.As(err, &nse) {
			continue
		}
		if err != nil {
			return fmt.Errorf("OIDC provider %s: GetOpenIDConnectProvider: %w", arn, err)
		}
		state.Providers[arn] = &ObservedProvider{ARN: arn, ClientIDs: out.ClientIDList}
	}
	return nil
}

func tagMap(tags []types.Tag) map[string]string {
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return m
}

// TaggedProvider is an OIDC provider of the account with its URL and tags.
type TaggedProvider struct {
	URL, ARN string
	Tags     map[string]string
}

// ProvidersTagged lists the account's OIDC providers whose tags match
// (ListOpenIDConnectProviders, then GetOpenIDConnectProvider for each), so
// that prune can find the providers an earlier run made.
func (ob *Observer) ProvidersTagged(ctx context.Context, match func(tags map[string]string) bool) ([]TaggedProvider, error) {
	list, err := ob.IAM.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, fmt.Errorf("ListOpenIDConnectProviders: %w", err)
	}
	var out []TaggedProvider
	for _, p := range list.OpenIDConnectProviderList {
		arn := aws.ToString(p.Arn)
		got, err := ob.IAM.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.Arn})
		if err != nil {
			return nil, fmt.Errorf("OIDC provider %s: GetOpenIDConnectProvider: %w", arn, err)
		}
		tags := tagMap(got.Tags)
		if match(tags) {
			url := aws.ToString(got.Url)
			if !strings.HasPrefix(url, "https://") {
				url = "https://" + url // IAM returns the URL without its scheme
			}
			out = append(out, TaggedProvider{URL: url, ARN: arn, Tags: tags})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ARN < out[j].ARN })
	return out, nil
}
