package iam

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awsiam "github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/internal/mototest"
)

// Against moto: a small plan is read per role without asking the account's
// size; a plan in the band where the size decides asks it once (through
// the run's shared summary) and follows the answer; once the size is known
// anyway, a small plan uses it too.
func TestIntegrationReadStrategyFollowsAccountSize(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs moto_server (run without -short)")
	}
	srv := mototest.Start(t)
	client := awsiam.New(awsiam.Options{
		Region:       mototest.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider(mototest.AccessKeyID, mototest.SecretAccessKey, ""),
	})
	ctx := context.Background()
	small, mid := planOf(5), planOf(150)
	ob := &Observer{IAM: client, Concurrency: 8}
	if _, err := ob.Observe(ctx, small, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadPerRole || ob.Summary.WasRead() {
		t.Errorf("5 roles: chose %s, asked the size: %v; want per-role without asking", ob.Chosen, ob.Summary.WasRead())
	}
	ob = &Observer{IAM: client, Concurrency: 8}
	if _, err := ob.Observe(ctx, mid, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadBulk || !ob.Summary.WasRead() {
		t.Errorf("150 roles, empty account: chose %s (asked: %v), want bulk after asking", ob.Chosen, ob.Summary.WasRead())
	}
	// Known size (as when the quota checks read it first): an empty account
	// is read in bulk even for 5 roles, one holding 300 others per role.
	known := func() *Observer {
		s := NewAccountSummary(client)
		if _, err := s.Get(ctx); err != nil {
			t.Fatal(err)
		}
		return &Observer{IAM: client, Concurrency: 4, Summary: s}
	}
	ob = known()
	if _, err := ob.Observe(ctx, small, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadBulk {
		t.Errorf("empty account, size known: chose %s (account roles %d), want bulk", ob.Chosen, ob.AccountRoles)
	}
	const trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	for i := range 300 {
		// The SDK retries a call whose answer was lost (a busy CI machine);
		// a retried create finds the role its first attempt made, which is
		// what the set-up wants.
		var exists *iamtypes.EntityAlreadyExistsException
		if _, err := client.CreateRole(ctx, &awsiam.CreateRoleInput{RoleName: aws.String(fmt.Sprintf("other-%03d", i)), AssumeRolePolicyDocument: aws.String(trust)}); err != nil && !errors.As(err, &exists) {
			t.Fatal(err)
		}
	}
	ob = known()
	if _, err := ob.Observe(ctx, small, false); err != nil {
		t.Fatal(err)
	}
	if ob.Chosen != ReadPerRole || ob.AccountRoles != 300 {
		t.Errorf("300 unrelated roles: chose %s (account roles %d), want per-role after asking (300)", ob.Chosen, ob.AccountRoles)
	}
	// Prune always reads everything.
	if _, err := ob.Observe(ctx, small, true); err != nil || ob.Chosen != ReadBulk {
		t.Errorf("prune: chose %s (%v)", ob.Chosen, err)
	}
}
