package eksfake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/eks/types"
	"github.com/aws/smithy-go"

	"github.com/iambind/iambind/internal/eksfake"
)

const (
	account = "111122223333"
	role    = "arn:aws:iam::111122223333:role/iambind/shop-orders"
)

// client is the real SDK client pointed at the fake: every shape below is
// what the SDK serializes and deserializes from the published model.
func client(t *testing.T, s *eksfake.Server) *eks.Client {
	t.Helper()
	return eks.New(eks.Options{
		Region:           "us-west-2",
		BaseEndpoint:     aws.String(s.URL),
		Credentials:      credentials.NewStaticCredentialsProvider("testing", "testing", ""),
		RetryMaxAttempts: 1,
	})
}

func create(t *testing.T, c *eks.Client, cluster, ns, sa string) *types.PodIdentityAssociation {
	t.Helper()
	out, err := c.CreatePodIdentityAssociation(context.Background(), &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String(cluster), Namespace: aws.String(ns), ServiceAccount: aws.String(sa),
		RoleArn: aws.String(role), Tags: map[string]string{"iambind.dev/owner": "prod"},
	})
	if err != nil {
		t.Fatalf("create %s/%s: %v", ns, sa, err)
	}
	return out.Association
}

func TestCreateDescribeUpdateDelete(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	c := client(t, s)
	ctx := context.Background()
	a := create(t, c, "prod", "shop", "orders")
	if !strings.HasPrefix(aws.ToString(a.AssociationId), "a-") || len(aws.ToString(a.AssociationId)) != 19 {
		t.Errorf("association id %q is not a-<17 characters>", aws.ToString(a.AssociationId))
	}
	wantARN := "arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/" + aws.ToString(a.AssociationId)
	if aws.ToString(a.AssociationArn) != wantARN || aws.ToString(a.RoleArn) != role || a.Tags["iambind.dev/owner"] != "prod" || a.CreatedAt == nil {
		t.Errorf("create returned %+v", a)
	}

	d, err := c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId})
	if err != nil || aws.ToString(d.Association.Namespace) != "shop" || aws.ToString(d.Association.ServiceAccount) != "orders" {
		t.Fatalf("describe: %v %+v", err, d)
	}

	other := "arn:aws:iam::111122223333:role/other"
	u, err := c.UpdatePodIdentityAssociation(ctx, &eks.UpdatePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId, RoleArn: aws.String(other)})
	if err != nil || aws.ToString(u.Association.RoleArn) != other {
		t.Fatalf("update: %v %+v", err, u)
	}

	if _, err := c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: a.AssociationArn, Tags: map[string]string{"team": "shop"}}); err != nil {
		t.Fatalf("tag: %v", err)
	}
	if got := s.Associations("prod")[0].Tags; got["team"] != "shop" || got["iambind.dev/owner"] != "prod" {
		t.Errorf("tags after TagResource: %v", got)
	}

	del, err := c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: a.AssociationId})
	if err != nil || aws.ToString(del.Association.AssociationId) != aws.ToString(a.AssociationId) {
		t.Fatalf("delete: %v", err)
	}
	if n := len(s.Associations("prod")); n != 0 {
		t.Errorf("%d associations left after delete", n)
	}
}

// TestErrorsAsTheModelSays checks each error reaches the SDK as its typed
// exception (the header and status the model gives it).
func TestErrorsAsTheModelSays(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	c := client(t, s)
	ctx := context.Background()
	a := create(t, c, "prod", "shop", "orders")

	_, err := c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"), RoleArn: aws.String(role),
	})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) || !strings.Contains(inUse.ErrorMessage(), aws.ToString(a.AssociationId)) {
		t.Errorf("duplicate create: want ResourceInUseException naming %s, got %v", aws.ToString(a.AssociationId), err)
	}

	var notFound *types.ResourceNotFoundException
	_, err = c.DescribePodIdentityAssociation(ctx, &eks.DescribePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: aws.String("a-00000000000000000")})
	if !errors.As(err, &notFound) {
		t.Errorf("unknown id: want ResourceNotFoundException, got %v", err)
	}
	_, err = c.DeletePodIdentityAssociation(ctx, &eks.DeletePodIdentityAssociationInput{ClusterName: aws.String("prod"), AssociationId: aws.String("a-00000000000000000")})
	if !errors.As(err, &notFound) {
		t.Errorf("delete of an unknown id: want ResourceNotFoundException, got %v", err)
	}
	_, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("staging")})
	if !errors.As(err, &notFound) || !strings.Contains(err.Error(), "staging") {
		t.Errorf("unknown cluster: want ResourceNotFoundException naming it, got %v", err)
	}
	_, err = c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("staging"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"), RoleArn: aws.String(role),
	})
	if !errors.As(err, &notFound) {
		t.Errorf("create in an unknown cluster: want ResourceNotFoundException, got %v", err)
	}

	var bad *types.InvalidParameterException
	_, err = c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("Shop"), ServiceAccount: aws.String("x"), RoleArn: aws.String(role),
	})
	if !errors.As(err, &bad) {
		t.Errorf("invalid namespace: want InvalidParameterException, got %v", err)
	}
	_, err = c.CreatePodIdentityAssociation(ctx, &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("x"), RoleArn: aws.String("not-an-arn"),
	})
	if !errors.As(err, &bad) {
		t.Errorf("invalid role ARN: want InvalidParameterException, got %v", err)
	}
	_, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), NextToken: aws.String("garbage")})
	if !errors.As(err, &bad) {
		t.Errorf("bad nextToken: want InvalidParameterException, got %v", err)
	}
	_, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), MaxResults: aws.Int32(eksfake.MaxMaxResults + 1)})
	if !errors.As(err, &bad) {
		t.Errorf("maxResults over the model's range: want InvalidParameterException, got %v", err)
	}
	var ae smithy.APIError
	_, err = c.TagResource(ctx, &eks.TagResourceInput{ResourceArn: aws.String("arn:aws:eks:us-west-2:111122223333:podidentityassociation/prod/a-1"), Tags: map[string]string{"k": "v"}})
	if !errors.As(err, &ae) || ae.ErrorCode() != "NotFoundException" {
		t.Errorf("tag of an unknown ARN: want NotFoundException, got %v", err)
	}
}

// TestPaginationAndFilters lists 7 associations 3 at a time with the SDK's
// paginator (nextToken round trip) and with the namespace filter.
func TestPaginationAndFilters(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod", "other")
	c := client(t, s)
	ctx := context.Background()
	for i := range 7 {
		ns := "shop"
		if i%2 == 1 {
			ns = "batch"
		}
		create(t, c, "prod", ns, fmt.Sprintf("sa-%d", i))
	}
	create(t, c, "other", "shop", "sa-0") // another cluster's is not listed

	p := eks.NewListPodIdentityAssociationsPaginator(c, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), MaxResults: aws.Int32(3)})
	seen := map[string]bool{}
	pages := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Associations) > 3 {
			t.Errorf("page of %d > maxResults 3", len(page.Associations))
		}
		for _, a := range page.Associations {
			if aws.ToString(a.ClusterName) != "prod" {
				t.Errorf("listed %s of cluster %s", aws.ToString(a.AssociationId), aws.ToString(a.ClusterName))
			}
			if seen[aws.ToString(a.AssociationId)] {
				t.Errorf("%s listed twice", aws.ToString(a.AssociationId))
			}
			seen[aws.ToString(a.AssociationId)] = true
		}
	}
	if pages != 3 || len(seen) != 7 {
		t.Errorf("got %d pages, %d associations; want 3 pages of 7", pages, len(seen))
	}

	out, err := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), Namespace: aws.String("batch")})
	if err != nil || len(out.Associations) != 3 || out.NextToken != nil {
		t.Fatalf("namespace filter: %v, %d associations", err, len(out.Associations))
	}
	out, err = c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("sa-2")})
	if err != nil || len(out.Associations) != 1 || aws.ToString(out.Associations[0].ServiceAccount) != "sa-2" {
		t.Fatalf("namespace+serviceAccount filter: %v %+v", err, out)
	}
	// A token of one cluster is refused by another.
	first, _ := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("prod"), MaxResults: aws.Int32(1)})
	var bad *types.InvalidParameterException
	if _, err := c.ListPodIdentityAssociations(ctx, &eks.ListPodIdentityAssociationsInput{ClusterName: aws.String("other"), NextToken: first.NextToken}); !errors.As(err, &bad) {
		t.Errorf("a token of cluster prod used on other: want InvalidParameterException, got %v", err)
	}
	if calls := s.Calls(); calls["ListPodIdentityAssociations"] != 7 || calls["CreatePodIdentityAssociation"] != 8 {
		t.Errorf("calls = %v", calls)
	}
}

// TestIdempotentRetry: a create retried with the same client request token
// (the SDK fills one in) returns the same association instead of failing.
func TestIdempotentRetry(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	c := client(t, s)
	in := &eks.CreatePodIdentityAssociationInput{
		ClusterName: aws.String("prod"), Namespace: aws.String("shop"), ServiceAccount: aws.String("orders"),
		RoleArn: aws.String(role), ClientRequestToken: aws.String("token-1"),
	}
	a, err := c.CreatePodIdentityAssociation(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.CreatePodIdentityAssociation(context.Background(), in)
	if err != nil || aws.ToString(b.Association.AssociationId) != aws.ToString(a.Association.AssociationId) {
		t.Fatalf("retry with the same token: %v", err)
	}
}

func TestUnknownRouteIsAnError(t *testing.T) {
	s := eksfake.Start(t, account, "us-west-2", "prod")
	resp, err := http.Get(s.URL + "/clusters")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || resp.Header.Get("X-Amzn-ErrorType") == "" {
		t.Errorf("GET /clusters: %d %v", resp.StatusCode, resp.Header)
	}
}
