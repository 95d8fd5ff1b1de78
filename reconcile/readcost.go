package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// How Observe reads roles: the cost model (docs/reads.md).
//
// Per-role reads cost 3 + k small calls per planned role (GetRole,
// ListAttachedRolePolicies, ListRolePolicies, one GetRolePolicy per inline
// policy), run Concurrency at a time. Bulk reads cost 2 paged calls per
// 1000 roles *in the account* (GetAccountAuthorizationDetails and ListRoles,
// run one page after another), and every page carries every role's
// documents, planned or not: a page's time grows with the roles it carries.
// So per-role reads scale with the plan and bulk reads with the account;
// which is cheaper depends on both, and the account's size is one cheap call
// away (GetAccountSummary → Roles).
//
// Time of one small call: max(1/rate, ReadLatency/concurrency) for parallel
// per-role reads, max(1/rate, ReadLatency) for sequential pages, where rate
// is the account's --rate (0: no ceiling). A bulk page of r roles costs
// ReadLatency × (1 + r/RolesPerReadCall) more: on moto one small read
// (≈ 12 ms) weighs as much as ≈ 34 roles of a bulk page (≈ 0.35 ms each),
// measured by bench/reconcile/crossover. Real IAM's constants are not
// measurable here; the model assumes the same ratio, and with --rate the
// call count (what IAM throttles) dominates as it should.
const (
	ReadLatency      = 12 * time.Millisecond
	RolesPerReadCall = 34
	// MaxAccountRoles is IAM's largest role quota per account: no account
	// has more, so a plan whose per-role reads cost more than bulk-reading
	// this many roles is read in bulk without asking the account's size.
	MaxAccountRoles = 5000
)

// ReadStrategy says how Observe reads roles.
type ReadStrategy string

const (
	ReadAuto    ReadStrategy = ""         // the cost model decides
	ReadBulk    ReadStrategy = "bulk"     // GetAccountAuthorizationDetails + ListRoles
	ReadPerRole ReadStrategy = "per-role" // GetRole & co per planned role
)

// ReadCost estimates both strategies for one plan and account.
type ReadCost struct {
	Concurrency int
	Rate        float64 // calls/s ceiling, 0: none
}

// PerRole is the estimated time of reading the planned roles one by one.
func (c ReadCost) PerRole(in *Input) time.Duration {
	calls := 0
	for _, r := range in.Roles {
		calls += 3 + len(r.InlinePolicies)
	}
	per := ReadLatency / time.Duration(max(c.Concurrency, 1))
	if c.Rate > 0 {
		per = max(per, time.Duration(float64(time.Second)/c.Rate))
	}
	return time.Duration(calls) * per
}

// Bulk is the estimated time of reading every role of an account holding
// accountRoles roles, page after page.
func (c ReadCost) Bulk(accountRoles int) time.Duration {
	var total time.Duration
	for left := max(accountRoles, 1); left > 0; left -= bulkPageSize {
		r := min(left, bulkPageSize)
		// Two paged calls: GetAccountAuthorizationDetails carries the
		// documents, ListRoles only names and two fields.
		for _, payload := range []int{r, r / 4} {
			t := ReadLatency + ReadLatency*time.Duration(payload)/RolesPerReadCall
			if c.Rate > 0 {
				t = max(t, time.Duration(float64(time.Second)/c.Rate))
			}
			total += t
		}
	}
	return total
}

// chooseReads picks the cheaper strategy, asking IAM for the account's
// size only when the answer depends on it.
func (ob *Observer) chooseReads(ctx context.Context, in *Input) (ReadStrategy, error) {
	c := ReadCost{Concurrency: ob.Concurrency, Rate: ob.Rate}
	per := c.PerRole(in)
	switch {
	case per <= c.Bulk(0):
		return ReadPerRole, nil // cheaper than bulk even in an empty account
	case per >= c.Bulk(MaxAccountRoles):
		return ReadBulk, nil // dearer than bulk in the largest account IAM allows
	}
	sum, err := ob.IAM.GetAccountSummary(ctx, &iam.GetAccountSummaryInput{})
	if err != nil {
		return "", fmt.Errorf("reading the account's size (GetAccountSummary): %w", err)
	}
	ob.AccountRoles = int(sum.SummaryMap["Roles"])
	if per <= c.Bulk(ob.AccountRoles) {
		return ReadPerRole, nil
	}
	return ReadBulk, nil
}
