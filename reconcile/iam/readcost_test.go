package iam

import (
	"fmt"
	"testing"
	"time"

	"github.com/iambind/iambind/reconcile/input"
)

func planOf(n int) *input.Input {
	in := &input.Input{}
	for i := range n {
		in.Roles = append(in.Roles, testRole(fmt.Sprintf("r%04d", i), "o")) // 1 inline policy: 4 reads each
	}
	return in
}

func TestReadCostModel(t *testing.T) {
	c := ReadCost{Concurrency: 4}
	if got, want := c.PerRole(planOf(10)), 40*ReadLatency/4+ReadLatency; got != want {
		t.Errorf("per-role, 10 roles: %v, want %v", got, want)
	}
	// Bulk grows with the account, per-role with the plan.
	if !(c.Bulk(0) < c.Bulk(1000) && c.Bulk(1000) < c.Bulk(5000)) {
		t.Errorf("bulk does not grow with the account: %v %v %v", c.Bulk(0), c.Bulk(1000), c.Bulk(5000))
	}
	for _, tc := range []struct {
		plan, account int
		rate          float64
		want          ReadStrategy
	}{
		{1, 0, 0, ReadPerRole}, {2, 5000, 0, ReadPerRole},
		{3, 3, 0, ReadBulk}, {10, 10, 0, ReadBulk},
		{10, 5010, 0, ReadPerRole}, {50, 5050, 0, ReadPerRole},
		{1000, 6000, 0, ReadBulk}, {200, 1200, 0, ReadBulk},
		// Under a rate limit calls dominate: 10 roles are 40 calls = 2 s at 20/s, 5010 roles 10 pages.
		{10, 5010, 20, ReadPerRole}, {100, 5100, 20, ReadBulk},
	} {
		c := ReadCost{Concurrency: 4, Rate: tc.rate}
		got := ReadBulk
		if c.PerRole(planOf(tc.plan)) <= c.Bulk(tc.account) {
			got = ReadPerRole
		}
		if got != tc.want {
			t.Errorf("%d planned of %d roles at rate %v: %s (per-role %v, bulk %v), want %s", tc.plan, tc.account, tc.rate,
				got, c.PerRole(planOf(tc.plan)), c.Bulk(tc.account), tc.want)
		}
	}
	// Plans so large that bulk wins in the largest account never ask the account's size.
	if c.PerRole(planOf(250)) < c.Bulk(MaxAccountRoles) {
		t.Errorf("250 roles (%v) should cost more than bulk of %d roles (%v)", c.PerRole(planOf(250)), MaxAccountRoles, c.Bulk(MaxAccountRoles))
	}
}

// The decision before knowing the account: per-role, bulk, or ask.
func TestReadChoice(t *testing.T) {
	for _, tc := range []struct {
		plan  int
		conc  int
		rate  float64
		known bool
		want  ReadChoice
	}{
		{1, 8, 0, false, ChoosePerRole},
		// The miss: 10 roles (40 calls) cost more than one tiny bulk
		// page, but never more than a page plus the question: no question.
		{10, 8, 0, false, ChoosePerRole},
		{50, 8, 0, false, ChoosePerRole},
		{150, 8, 0, false, AskSize},
		{300, 8, 0, false, AskSize},
		{1000, 8, 0, false, ChooseBulk},
		// Already known (the quota checks read it): the answer is free.
		{10, 8, 0, true, AskSize},
		{1, 8, 0, true, ChoosePerRole},
		{1000, 8, 0, true, ChooseBulk},
		// Under a rate limit calls dominate: 10 roles are 40 calls (2 s at
		// 20/s), bulk of the largest account 10 pages: bulk without asking.
		{10, 8, 20, false, ChooseBulk},
		{2, 8, 20, false, ChoosePerRole}, {3, 8, 20, false, AskSize},
	} {
		c := ReadCost{Concurrency: tc.conc, Rate: tc.rate}
		if got := c.Choose(planOf(tc.plan), tc.known); got != tc.want {
			t.Errorf("%d roles, concurrency %d, rate %v, known %v: %v, want %v (per-role %v, bulk %v..%v, question %v)",
				tc.plan, tc.conc, tc.rate, tc.known, got, tc.want, c.PerRole(planOf(tc.plan)), c.Bulk(0), c.Bulk(MaxAccountRoles), c.Question())
		}
	}
}

// Minimax regret, checked over plans and accounts: whatever the account
// turns out to hold, the choice never costs more than the best strategy
// for that account plus one question.
func TestReadChoiceLossBounded(t *testing.T) {
	for _, rate := range []float64{0, 5, 20, 100} {
		for _, conc := range []int{1, 4, 8, 32} {
			c := ReadCost{Concurrency: conc, Rate: rate}
			for plan := 1; plan <= 1200; plan += 7 {
				in := planOf(plan)
				per := c.PerRole(in)
				choice := c.Choose(in, false)
				for account := 0; account <= MaxAccountRoles; account += 250 {
					best := min(per, c.Bulk(account))
					cost := map[ReadChoice]time.Duration{ChoosePerRole: per, ChooseBulk: c.Bulk(account), AskSize: c.Question() + best}[choice]
					if cost-best > c.Question() {
						t.Fatalf("rate %v, concurrency %d, %d roles in an account of %d: choice %v costs %v, best %v, more than a question (%v) lost",
							rate, conc, plan, account, choice, cost, best, c.Question())
					}
				}
			}
		}
	}
}
