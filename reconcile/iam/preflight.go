package iam

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/generator/managedpolicies"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/internal/suggest"
	"github.com/iambind/iambind/reconcile/input"
)

// The preflight is what makes a plan a promise: everything apply would only
// find out midway (a misspelt or deleted policy, a boundary that does not
// exist, an account quota) is checked before any write, and refused with
// the role, the binding, the field and the value. It is split into a pure
// decision (PolicyRefs, PolicyARNsToRead, PolicyProblems, QuotaProblems)
// and a small observing part (Preflighter, AccountSummary).

// Fields a policy reference comes from, as the binding spells them.
const (
	fieldManaged  = "spec.policies.managed"
	fieldBoundary = "spec.role.permissionsBoundary"
)

// PolicyRef is one place where a planned role references a managed policy.
type PolicyRef struct {
	Role    string // role name
	Binding string // <namespace>/<name> of the binding (its tag), or the plan source
	Field   string // spec.policies.managed or spec.role.permissionsBoundary
	ARN     string
}

// PolicyRefs lists every managed policy and permissions boundary the plan
// references, sorted by role, field and ARN.
func PolicyRefs(in *input.Input) []PolicyRef {
	var out []PolicyRef
	for _, r := range in.Roles {
		binding := r.Tags[generator.TagBinding]
		if binding == "" {
			binding = r.Source
		}
		for _, a := range slices.Compact(slices.Sorted(slices.Values(r.ManagedPolicyARNs))) {
			out = append(out, PolicyRef{Role: r.Name, Binding: binding, Field: fieldManaged, ARN: a})
		}
		if r.PermissionsBoundary != "" {
			out = append(out, PolicyRef{Role: r.Name, Binding: binding, Field: fieldBoundary, ARN: r.PermissionsBoundary})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.ARN < b.ARN
	})
	return out
}

// PolicyARNsToRead returns the distinct referenced ARNs whose existence the
// observed state does not already prove, sorted. A managed policy attached
// to any observed role exists (IAM refuses to delete an attached policy),
// so a no-op plan reads nothing. Boundaries are always read: a policy in
// use as a boundary proves less (and emulators accept missing ones).
func PolicyARNsToRead(refs []PolicyRef, state *State) []string {
	attached := map[string]bool{}
	if state != nil {
		for _, o := range state.Roles {
			for _, a := range o.ManagedPolicyARNs {
				attached[a] = true
			}
		}
	}
	seen := map[string]bool{}
	var out []string
	for _, r := range refs {
		if seen[r.ARN] || (r.Field == fieldManaged && attached[r.ARN]) {
			continue
		}
		seen[r.ARN] = true
		out = append(out, r.ARN)
	}
	sort.Strings(out)
	return out
}

// PolicyStatus is what IAM said about one policy ARN.
type PolicyStatus int

const (
	PolicyExists        PolicyStatus = iota
	PolicyMissing                    // NoSuchEntity
	PolicyNotAttachable              // exists, but IAM reserves it (service-linked role policies)
	PolicyUnverified                 // the read failed (e.g. AccessDenied): neither proven nor refused
)

// PolicyCheck is the outcome of reading one policy.
type PolicyCheck struct {
	Status PolicyStatus
	Detail string // the AWS error, for PolicyUnverified
}

// PolicyProblems decides, purely, which references are refused (per role)
// and which could not be verified (warnings). checks holds the ARNs that
// were read; an ARN absent from it was proven by the observed state.
func PolicyProblems(refs []PolicyRef, checks map[string]PolicyCheck) (perRole map[string][]string, warnings []string) {
	perRole = map[string][]string{}
	warned := map[string]bool{}
	for _, r := range refs {
		c, read := checks[r.ARN]
		if !read {
			continue
		}
		where := fmt.Sprintf("role %s (binding %s): %s: %s", r.Role, r.Binding, r.Field, r.ARN)
		switch c.Status {
		case PolicyMissing:
			msg := where + " does not exist"
			if name, ok := managedpolicies.NameFromARN(r.ARN); ok {
				msg += suggest.Phrase(managedpolicies.Suggest(name))
			}
			perRole[r.Role] = append(perRole[r.Role], msg)
		case PolicyNotAttachable:
			perRole[r.Role] = append(perRole[r.Role], where+" exists but cannot be attached to a role (AWS reserves it for service-linked roles)")
		case PolicyUnverified:
			if !warned[r.ARN] {
				warned[r.ARN] = true
				warnings = append(warnings, fmt.Sprintf("could not check that %s exists (%s): apply fails midway if it does not; grant iam:GetPolicy to let plan check it", r.ARN, c.Detail))
			}
		}
	}
	sort.Strings(warnings)
	return perRole, warnings
}

// PolicyGetter is the IAM read the preflight makes.
type PolicyGetter interface {
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
}

// Preflighter reads referenced policies once per ARN per run (the cache
// serves every plan of a --from-cluster run), concurrently.
type Preflighter struct {
	IAM         PolicyGetter
	Concurrency int

	mu    sync.Mutex
	cache map[string]PolicyCheck
	reads int
}

// PreflightResult is the outcome of the policy checks for one set of roles.
type PreflightResult struct {
	// PerRole maps a role name to why it is refused; empty when all is well.
	PerRole  map[string][]string
	Warnings []string
	// Referenced is the number of distinct policy ARNs referenced; Read how
	// many of them needed a GetPolicy (the others are attached to observed roles).
	Referenced, Read int
}

// Err is the refusal of the whole run (-f mode), nil when no role is refused.
func (r *PreflightResult) Err() error {
	if len(r.PerRole) == 0 {
		return nil
	}
	var lines []string
	for _, role := range slices.Sorted(maps.Keys(r.PerRole)) {
		lines = append(lines, r.PerRole[role]...)
	}
	return fmt.Errorf("preflight: the plan references policies IAM cannot attach, nothing was changed:\n  %s",
		strings.Join(lines, "\n  "))
}

// CheckPolicies checks every policy the roles of in reference. The error is
// for reads that failed in a way no plan can act on (a cancelled context);
// AccessDenied and the like become warnings.
func (p *Preflighter) CheckPolicies(ctx context.Context, in *input.Input, state *State) (*PreflightResult, error) {
	refs := PolicyRefs(in)
	toRead := PolicyARNsToRead(refs, state)
	distinct := map[string]bool{}
	for _, r := range refs {
		distinct[r.ARN] = true
	}
	checks := make([]PolicyCheck, len(toRead))
	err := awsapi.ForEach(ctx, p.Concurrency, len(toRead), func(ctx context.Context, i int) error {
		c, err := p.check(ctx, toRead[i])
		checks[i] = c
		return err
	})
	if err != nil {
		return nil, err
	}
	byARN := make(map[string]PolicyCheck, len(toRead))
	for i, a := range toRead {
		byARN[a] = checks[i]
	}
	perRole, warnings := PolicyProblems(refs, byARN)
	return &PreflightResult{PerRole: perRole, Warnings: warnings, Referenced: len(distinct), Read: len(toRead)}, nil
}

// Reads is the number of GetPolicy calls made so far in this run.
func (p *Preflighter) Reads() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reads
}

func (p *Preflighter) check(ctx context.Context, arn string) (PolicyCheck, error) {
	p.mu.Lock()
	if c, ok := p.cache[arn]; ok {
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	out, err := p.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	var c PolicyCheck
	var nse *types.NoSuchEntityException
	switch {
	case errors.As(err, &nse), awsapi.IsCode(err, "NoSuchEntity"):
		c.Status = PolicyMissing
	case ctx.Err() != nil:
		return c, ctx.Err()
	case err != nil:
		c = PolicyCheck{Status: PolicyUnverified, Detail: "GetPolicy: " + awsapi.ErrorText(err)}
	case out.Policy != nil && !out.Policy.IsAttachable:
		c.Status = PolicyNotAttachable
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cache == nil {
		p.cache = map[string]PolicyCheck{}
	}
	p.cache[arn] = c
	p.reads++
	return c, nil
}

// PreflightSummary is what the preflight checked, for the plan output.
type PreflightSummary struct {
	// PoliciesReferenced is the number of distinct managed policy and
	// boundary ARNs the plan references; PoliciesRead how many needed an
	// IAM read (GetPolicy); AccountSummaryRead whether GetAccountSummary
	// was read in the run (at most once, shared by the quota checks and the
	// read cost model; a no-op or update-only run that stays far from the
	// quotas never reads it).
	PoliciesReferenced int  `json:"policiesReferenced"`
	PoliciesRead       int  `json:"policiesRead"`
	AccountSummaryRead bool `json:"accountSummaryRead"`
}
