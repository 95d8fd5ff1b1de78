package iam

import (
	"context"
	"fmt"
	"time"

	"github.com/iambind/iambind/reconcile/input"
)

// How Observe reads roles: the cost model (docs/reads.md).
//
// Per-role reads cost 3 + k small calls per planned role (GetRole,
// ListAttachedRolePolicies, ListRolePolicies, one GetRolePolicy per inline
// policy), run Concurrency at a time, and one ListRoles page under the
// plan's role path (owned roles that left the plan, observeOrphans). Bulk reads cost 2 paged calls per
// 1000 roles *in the account* (GetAccountAuthorizationDetails and ListRoles,
// run one page after another), and every page carries every role's
// documents, planned or not: a page's time grows with the roles it carries.
// So per-role reads scale with the plan and bulk reads with the account;
// which is cheaper depends on both, and the account's size is one call away
// (GetAccountSummary → Roles), a call worth making only when its answer can
// change the decision by more than it may cost (Choose).
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
func (c ReadCost) PerRole(in *input.Input) time.Duration {
	calls := 0
	for _, r := range in.Roles {
		calls += 3 + len(r.InlinePolicies)
	}
	per := ReadLatency / time.Duration(max(c.Concurrency, 1))
	listing := ReadLatency // one ListRoles page under the plan's role path (orphans)
	if c.Rate > 0 {
		per = max(per, time.Duration(float64(time.Second)/c.Rate))
		listing = max(listing, time.Duration(float64(time.Second)/c.Rate))
	}
	return time.Duration(calls)*per + listing
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

// Question is the time the model allows for asking the account's size
// (GetAccountSummary) at worst. IAM documents it as a small read, but the
// answer counts every entity of the account, and a server that counts them
// (moto walks every role, policy and user: ≈ 2.7 s with 6,000 roles, about a
// bulk page of 1,000 roles there) makes it as dear as one full bulk page.
// Relying on the small read would make every mid-sized plan pay that in a
// large account; the model assumes the worst instead.
func (c ReadCost) Question() time.Duration {
	t := ReadLatency + ReadLatency*bulkPageSize/RolesPerReadCall
	if c.Rate > 0 {
		t = max(t, time.Duration(float64(time.Second)/c.Rate))
	}
	return t
}

// ReadChoice is what the model decides before knowing the account's size.
type ReadChoice int

const (
	ChoosePerRole ReadChoice = iota // per-role, without asking
	ChooseBulk                      // bulk, without asking
	AskSize                         // ask the account's size, then the cheaper
)

// Choose decides between reading per role, in bulk, or asking the account's
// size first, by minimax regret over the accounts IAM allows (0 to
// MaxAccountRoles roles): each way's worst loss against the best strategy
// for the account it turns out to be.
//
//   - per-role without asking loses at most per − Bulk(0) (the account was
//     empty and one bulk page would have done), nothing if per ≤ Bulk(0);
//   - bulk without asking loses at most Bulk(MaxAccountRoles) − per, nothing
//     if per ≥ Bulk(MaxAccountRoles);
//   - asking loses at most the question itself, and nothing when it was
//     already asked (known: the quota checks read it earlier in the run).
//
// The smallest worst loss wins, so the question is asked only when its
// answer can change the decision by more than it costs: a 10-role no-op in
// an account of 5,000 roles reads its 40 calls per role and never asks.
func (c ReadCost) Choose(in *input.Input, known bool) ReadChoice {
	per := c.PerRole(in)
	lossPer := max(0, per-c.Bulk(0))
	lossBulk := max(0, c.Bulk(MaxAccountRoles)-per)
	lossAsk := c.Question()
	if known {
		lossAsk = 0
	}
	switch {
	case lossPer == 0 || (lossPer <= lossBulk && lossPer <= lossAsk):
		return ChoosePerRole
	case lossBulk == 0 || lossBulk <= lossAsk:
		return ChooseBulk
	}
	return AskSize
}

// chooseReads picks the strategy, asking IAM for the account's size only
// when Choose says the answer is worth its cost. The answer is the run's
// shared GetAccountSummary (ob.Summary), read at most once with the quota
// preflight.
func (ob *Observer) chooseReads(ctx context.Context, in *input.Input) (ReadStrategy, error) {
	if ob.Summary == nil {
		ob.Summary = NewAccountSummary(ob.IAM)
	}
	c := ReadCost{Concurrency: ob.Concurrency, Rate: ob.Rate}
	switch c.Choose(in, ob.Summary.WasRead()) {
	case ChoosePerRole:
		return ReadPerRole, nil
	case ChooseBulk:
		return ReadBulk, nil
	}
	sum, err := ob.Summary.Get(ctx)
	if err != nil {
		return "", fmt.Errorf("reading the account's size: %w", err)
	}
	ob.AccountRoles = int(sum["Roles"])
	if c.PerRole(in) <= c.Bulk(ob.AccountRoles) {
		return ReadPerRole, nil
	}
	return ReadBulk, nil
}
