package iam

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/iambind/iambind/generator"
)

// IAM's default account quotas (GetAccountSummary reports the real ones).
const (
	DefaultRolesQuota = 1000 // roles per account (adjustable up to 5000)
	// quotaNearFraction: the account's quotas are read only when the plan
	// comes within this fraction of a default; below it a plan cannot hit
	// a quota, which is never lowered below its default.
	quotaNearFraction = 0.8
)

// AccountSummary reads GetAccountSummary at most once per run and shares it
// (trust-policy size quota, role quota, attached-policies-per-role quota).
type AccountSummary struct {
	Read func(ctx context.Context) (map[string]int32, error)

	once sync.Once
	m    map[string]int32
	err  error
	read bool
}

// NewAccountSummary reads the summary through an IAM client.
func NewAccountSummary(c *iam.Client) *AccountSummary {
	return &AccountSummary{Read: func(ctx context.Context) (map[string]int32, error) {
		out, err := c.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
		if err != nil {
			return nil, err
		}
		return out.SummaryMap, nil
	}}
}

// Get returns the summary map, reading it on first use.
func (s *AccountSummary) Get(ctx context.Context) (map[string]int32, error) {
	s.once.Do(func() {
		s.read = true
		s.m, s.err = s.Read(ctx)
		if s.err != nil {
			s.err = fmt.Errorf("reading the account's quotas (GetAccountSummary): %w", s.err)
		}
	})
	return s.m, s.err
}

// WasRead reports whether the summary was read in this run.
func (s *AccountSummary) WasRead() bool { return s.read }

// QuotaFigures are the plan's numbers that IAM account quotas bound.
type QuotaFigures struct {
	Creates, Deletes int // roles the plan creates and deletes (prune); a replace is both
	// KnownRoles is the number of roles in the account when the observation
	// read them all, else -1 (per-role reads do not know it).
	KnownRoles int
	// ManagedPerRole is the number of managed policies of each planned role
	// that gains attachments (created, replaced, or updated with an attach).
	ManagedPerRole map[string]int
}

// FiguresOf extracts the quota-relevant numbers of a plan.
func FiguresOf(plan *Plan, state *State) QuotaFigures {
	f := QuotaFigures{KnownRoles: -1, ManagedPerRole: map[string]int{}}
	if state != nil && state.AllRoles {
		f.KnownRoles = len(state.Roles)
	}
	for _, rc := range plan.Roles {
		switch rc.Kind {
		case KindCreate:
			f.Creates++
		case KindDelete:
			f.Deletes++
		}
		// Only a role that gains attachments can exceed the per-role quota:
		// one left as it is already holds its policies in IAM.
		if rc.desired != nil && attaches(rc) {
			seen := map[string]bool{}
			for _, a := range rc.desired.ManagedPolicyARNs {
				seen[a] = true
			}
			f.ManagedPerRole[rc.Name] = len(seen)
		}
	}
	return f
}

// attaches reports whether the plan attaches managed policies to the role.
func attaches(rc RoleChange) bool {
	if rc.Kind == KindCreate || rc.Kind == KindReplace {
		return true
	}
	for _, a := range rc.Actions {
		if a.Op == OpAttach {
			return true
		}
	}
	return false
}

// QuotaNeedsSummary reports, purely, whether the plan comes near a default
// quota, i.e. whether the account's real quotas must be read.
func QuotaNeedsSummary(f QuotaFigures) bool {
	roles := f.Creates
	if f.KnownRoles >= 0 {
		roles += f.KnownRoles - f.Deletes
	}
	if f.Creates > 0 && float64(roles) > quotaNearFraction*DefaultRolesQuota {
		return true
	}
	for _, n := range f.ManagedPerRole {
		if n > generator.DefaultManagedPerRole {
			return true
		}
	}
	return false
}

// QuotaProblems compares the plan with the account's quotas (GetAccountSummary's
// SummaryMap) and returns one refusal per quota exceeded, with the figures.
func QuotaProblems(f QuotaFigures, summary map[string]int32) []string {
	var out []string
	if q, ok := summary["RolesQuota"]; ok && f.Creates > 0 {
		have := int(summary["Roles"])
		after := have + f.Creates - f.Deletes
		if after > int(q) {
			out = append(out, fmt.Sprintf("roles: the plan creates %d role(s) (and deletes %d) in an account that has %d: %d roles, over the account's quota of %d (GetAccountSummary RolesQuota); delete unused roles or ask AWS for a higher quota (IAM roles per account, up to 5000)",
				f.Creates, f.Deletes, have, after, q))
		}
	}
	if q, ok := summary["AttachedPoliciesPerRoleQuota"]; ok {
		var names []string
		for name, n := range f.ManagedPerRole {
			if n > int(q) {
				names = append(names, name)
			}
		}
		sort.Strings(names)
		for _, name := range names {
			out = append(out, fmt.Sprintf("role %s: %d managed policies, over the account's quota of %d attached policies per role (GetAccountSummary AttachedPoliciesPerRoleQuota); merge some into one policy or ask AWS for a higher quota (up to %d)",
				name, f.ManagedPerRole[name], q, generator.MaxManagedPerRole))
		}
	}
	return out
}

// CheckQuotas reads the account summary only when the plan comes near a
// default quota, and returns the quota refusals.
func CheckQuotas(ctx context.Context, summary *AccountSummary, plan *Plan, state *State) ([]string, error) {
	f := FiguresOf(plan, state)
	if !QuotaNeedsSummary(f) {
		return nil, nil
	}
	m, err := summary.Get(ctx)
	if err != nil {
		return nil, fmt.Errorf("preflight: %w", err)
	}
	return QuotaProblems(f, m), nil
}

// RoleRoom is how many roles the plan may still create in the account
// without going over its roles quota (summary is GetAccountSummary's map),
// and whether the quota is known at all. Deletions of the same plan make
// room first.
func RoleRoom(f QuotaFigures, summary map[string]int32) (room int, known bool) {
	q, ok := summary["RolesQuota"]
	if !ok {
		return 0, false
	}
	return int(q) - int(summary["Roles"]) + f.Deletes, true
}

// FairShare picks which of the claimants' new roles fit in room: one per
// claimant per round, claimants in order and each claimant's roles in
// order, so that a claimant asking for many roles takes no more than its
// share while another's few still fit. It returns the roles left out.
func FairShare(room int, byClaimant map[string][]string) []string {
	claimants := make([]string, 0, len(byClaimant))
	for c := range byClaimant {
		claimants = append(claimants, c)
	}
	sort.Strings(claimants)
	next := map[string]int{}
	for room > 0 {
		progressed := false
		for _, c := range claimants {
			if room == 0 {
				break
			}
			if next[c] < len(byClaimant[c]) {
				next[c]++
				room--
				progressed = true
			}
		}
		if !progressed {
			break
		}
	}
	var out []string
	for _, c := range claimants {
		out = append(out, byClaimant[c][next[c]:]...)
	}
	sort.Strings(out)
	return out
}
