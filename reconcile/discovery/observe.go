package discovery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"path"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/iambind/iambind/generator"
	"github.com/iambind/iambind/reconcile/input"
)

// Object metadata iambind sets on what it uploads: prune deletes only
// objects that carry its owner.
const (
	MetaOwner   = "iambind-owner"
	MetaCluster = "iambind-cluster"
)

// maxObjectBytes bounds how much of an existing object is read: discovery
// documents are a few KB, and a huge object must not exhaust memory.
const maxObjectBytes = 1 << 20

// PublicAccess is a bucket's public access block.
type PublicAccess struct {
	BlockPublicAcls       bool `json:"blockPublicAcls"`
	IgnorePublicAcls      bool `json:"ignorePublicAcls"`
	BlockPublicPolicy     bool `json:"blockPublicPolicy"`
	RestrictPublicBuckets bool `json:"restrictPublicBuckets"`
}

// WantedPublicAccess blocks public ACLs but lets the bucket policy grant
// anonymous reads of the two discovery documents.
var WantedPublicAccess = PublicAccess{BlockPublicAcls: true, IgnorePublicAcls: true}

// ObservedObject is an object as S3 has it now.
type ObservedObject struct {
	Body        []byte
	ContentType string
	Owner       string // metadata iambind-owner
}

// ObservedBucket is a bucket as S3 has it now.
type ObservedBucket struct {
	Name         string
	Exists       bool
	Region       string
	Tags         map[string]string
	Policy       string        // "" when the bucket has none
	PublicAccess *PublicAccess // nil when the bucket has none
	// Objects holds the planned keys that exist.
	Objects map[string]*ObservedObject
	// Stale are keys of discovery documents iambind uploaded for this
	// owner that are no longer planned; only looked for when pruning.
	Stale []string
}

// State is what observation found, by bucket name.
type State struct {
	Buckets map[string]*ObservedBucket
}

// ByBucket groups plans by bucket, buckets sorted.
func ByBucket(plans []*input.DiscoveryPlan) (names []string, groups map[string][]*input.DiscoveryPlan) {
	groups = map[string][]*input.DiscoveryPlan{}
	for _, d := range plans {
		if groups[d.Bucket] == nil {
			names = append(names, d.Bucket)
		}
		groups[d.Bucket] = append(groups[d.Bucket], d)
	}
	slices.Sort(names)
	return names, groups
}

// inRegion sends a call to the bucket's region (SigV4 is regional).
func inRegion(region string) func(*s3.Options) {
	return func(o *s3.Options) { o.Region = region }
}

// Observer reads the current state of the planned buckets (reads only), as
// the IAM and EKS rooms' observers do.
type Observer struct {
	S3 *s3.Client
}

// Observe reads every planned bucket: existence and region, tags, policy,
// public access block and the planned objects; with prune also the
// discovery documents iambind uploaded earlier that left the plan.
func (ob *Observer) Observe(ctx context.Context, plans []*input.DiscoveryPlan, prune bool) (*State, error) {
	c := ob.S3
	st := &State{Buckets: map[string]*ObservedBucket{}}
	names, groups := ByBucket(plans)
	for _, name := range names {
		ds := groups[name]
		ob, err := observeBucket(ctx, c, name, ds, prune)
		if err != nil {
			return nil, fmt.Errorf("S3 bucket %s: %w", name, err)
		}
		st.Buckets[name] = ob
	}
	return st, nil
}

func observeBucket(ctx context.Context, c *s3.Client, name string, ds []*input.DiscoveryPlan, prune bool) (*ObservedBucket, error) {
	region := ds[0].Region
	ob := &ObservedBucket{Name: name, Objects: map[string]*ObservedObject{}}
	head, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(name)}, inRegion(region))
	switch status := httpStatus(err); {
	case err == nil:
		ob.Exists = true
		ob.Region = aws.ToString(head.BucketRegion)
		if ob.Region == "" {
			ob.Region = region
		}
	case status == http.StatusNotFound:
		return ob, nil
	case status == http.StatusForbidden:
		return nil, fmt.Errorf("exists but these credentials may not read it (403): it belongs to another account or denies access; choose another bucket name")
	case status == http.StatusMovedPermanently:
		return nil, fmt.Errorf("exists in another region than %s (301): the issuer URL would not reach it; set spec.discovery.s3.region to the bucket's region", region)
	default:
		return nil, fmt.Errorf("HeadBucket: %w", err)
	}
	opt := inRegion(ob.Region)
	tags, err := c.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: aws.String(name)}, opt)
	switch {
	case err == nil:
		ob.Tags = map[string]string{}
		for _, t := range tags.TagSet {
			ob.Tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
		}
	case errorCode(err) != "NoSuchTagSet":
		return nil, fmt.Errorf("GetBucketTagging: %w", err)
	}
	pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name)}, opt)
	switch {
	case err == nil:
		ob.Policy = aws.ToString(pol.Policy)
	case errorCode(err) != "NoSuchBucketPolicy":
		return nil, fmt.Errorf("GetBucketPolicy: %w", err)
	}
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: aws.String(name)}, opt)
	switch {
	case err == nil && pab.PublicAccessBlockConfiguration != nil:
		p := pab.PublicAccessBlockConfiguration
		ob.PublicAccess = &PublicAccess{
			BlockPublicAcls: aws.ToBool(p.BlockPublicAcls), IgnorePublicAcls: aws.ToBool(p.IgnorePublicAcls),
			BlockPublicPolicy: aws.ToBool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets),
		}
	case err != nil && errorCode(err) != "NoSuchPublicAccessBlockConfiguration":
		return nil, fmt.Errorf("GetPublicAccessBlock: %w", err)
	}
	planned := map[string]bool{}
	for _, d := range ds {
		for _, key := range slices.Sorted(maps.Keys(d.Objects())) {
			planned[key] = true
			obj, err := getObject(ctx, c, name, key, opt)
			if err != nil {
				return nil, err
			}
			if obj != nil {
				ob.Objects[key] = obj
			}
		}
	}
	if prune {
		if ob.Stale, err = staleObjects(ctx, c, name, ds[0].Owner, planned, opt); err != nil {
			return nil, err
		}
	}
	return ob, nil
}

func getObject(ctx context.Context, c *s3.Client, bucket, key string, opt func(*s3.Options)) (*ObservedObject, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, opt)
	if errorCode(err) == "NoSuchKey" || httpStatus(err) == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("GetObject %s: %w", key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxObjectBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GetObject %s: %w", key, err)
	}
	return &ObservedObject{Body: body, ContentType: aws.ToString(out.ContentType), Owner: out.Metadata[MetaOwner]}, nil
}

// staleObjects lists the bucket for discovery documents (any prefix) that
// are not planned and that iambind uploaded for owner.
func staleObjects(ctx context.Context, c *s3.Client, bucket, owner string, planned map[string]bool, opt func(*s3.Options)) ([]string, error) {
	var stale []string
	pages := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: aws.String(bucket)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx, opt)
		if err != nil {
			return nil, fmt.Errorf("ListObjectsV2: %w", err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if planned[key] || !isDiscoveryKey(key) {
				continue
			}
			head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}, opt)
			if err != nil {
				return nil, fmt.Errorf("HeadObject %s: %w", key, err)
			}
			if head.Metadata[MetaOwner] == owner {
				stale = append(stale, key)
			}
		}
	}
	slices.Sort(stale)
	return stale, nil
}

func isDiscoveryKey(key string) bool {
	base := path.Base(key)
	return key == generator.OpenIDConfigPath || key == generator.JWKSPath ||
		(base == generator.JWKSPath) || (base == "openid-configuration" && path.Base(path.Dir(key)) == ".well-known")
}

func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}
