package eksfake_test

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"

	"github.com/iambind/iambind/internal/eksfake"
)

const target = "arn:aws:iam::210987654321:role/iambind/shop-orders"

var uuidShape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// An association with a target role gets an externalId, which describe
// returns and an update keeps; removing the target removes it, and a new
// association gets a new one.
func TestTargetRoleExternalID(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	c := client(t, s)
	ctx := context.Background()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}`
	out, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"),
		RoleArn: aws.String(role), TargetRoleArn: aws.String(target), DisableSessionTags: aws.Bool(true), Policy: aws.String(policy),
	})
	if err != nil {
		t.Fatal(err)
	}
	a := out.Association
	ext := aws.ToString(a.ExternalId)
	if !uuidShape.MatchString(ext) || aws.ToString(a.TargetRoleArn) != target || aws.ToString(a.Policy) != policy || !aws.ToBool(a.DisableSessionTags) {
		t.Fatalf("create returned %+v (externalId %q)", a, ext)
	}
	d, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId})
	if err != nil || aws.ToString(d.Association.ExternalId) != ext {
		t.Fatalf("describe: %v %+v", err, d)
	}
	u, err := c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId, Policy: aws.String("")})
	if err != nil || aws.ToString(u.Association.ExternalId) != ext || u.Association.Policy != nil {
		t.Fatalf("update kept the target: %v %+v", err, u)
	}
	u, err = c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId, TargetRoleArn: aws.String("")})
	if err != nil || u.Association.ExternalId != nil || u.Association.TargetRoleArn != nil {
		t.Fatalf("removing the target: %v %+v", err, u)
	}
	if _, err := c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId}); err != nil {
		t.Fatal(err)
	}
	again, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"),
		RoleArn: aws.String(role), TargetRoleArn: aws.String(target),
	})
	if err != nil || aws.ToString(again.Association.ExternalId) == ext || !uuidShape.MatchString(aws.ToString(again.Association.ExternalId)) {
		t.Fatalf("a recreated association must get a new externalId: %v %+v", err, again)
	}
}

// A session policy needs disableSessionTags: true; a target must be a role ARN.
func TestTargetRoleRefusals(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	c := client(t, s)
	for name, in := range map[string]*eks.CreatePodIdentityAssociationInput{
		"policy with tags": {Policy: aws.String(`{"Version":"2012-10-17","Statement":[]}`)},
		"bad target":       {TargetRoleArn: aws.String("arn:aws:iam::210987654321:user/x")},
	} {
		in.ClusterName, in.Namespace, in.ServiceAccount, in.RoleArn = aws.String("prod"), aws.String("shop"), aws.String("orders"), aws.String(role)
		_, err := c.CreatePodIdentityAssociation(context.Background(), in)
		var bad *types.InvalidParameterException
		if !errors.As(err, &bad) {
			t.Errorf("%s: want InvalidParameterException, got %v", name, err)
		}
	}
}
