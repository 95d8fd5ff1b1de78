package reconcile

import (
	"context"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
)

func planOf(n int) *Input {
	in := &Input{}
	for i := range n {
		in.Roles = append(in.Roles, testRole(fmt.Sprintf("r%04d", i), "o")) // 1 inline policy: 4 reads each
	}
	return in
}

func TestReadCostModel(t *testing.T) {
	c := ReadCost{Concurrency: 4}
	if got, want := c.PerRole(planOf(10)), 40*ReadLatency/4; got != want {
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

// Against moto: the same 5-role plan is read in bulk in an account holding
// only it, and per role once the account holds 300 unrelated roles, which
// the model learns from GetAccountSummary.
func TestIntegrationReadStrategyFollowsAccountSize(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	in := planOf(5)
	ob := &Observer{IAM: e.iam, Concurrency: 4}
	if _, err := ob.Observe(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadBulk {
		t.Errorf("empty account: chose %s (account roles %d), want bulk", ob.Chosen, ob.AccountRoles)
	}
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for i := range 300 {
		if _, err := e.iam.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("other-%03d", i)), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ob.Observe(ctx, in, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadPerRole || ob.AccountRoles != 300 {
		t.Errorf("300 unrelated roles: chose %s (account roles %d), want per-role after asking (300)", ob.Chosen, ob.AccountRoles)
	}
	// Prune always reads everything.
	if _, err := ob.Observe(ctx, in, true); err != nil || ob.Chosen != ReadBulk {
		t.Errorf("prune: chose %s (%v)", ob.Chosen, err)
	}
}
