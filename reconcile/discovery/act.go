package discovery

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Result is what an apply did.
type Result struct {
	BucketsCreated, BucketsUpdated, BucketsUnchanged int
	ObjectsWritten, ObjectsDeleted                   int
	Errors                                           []error
}

// Executor applies a Plan, as the IAM and EKS rooms' executors do.
type Executor struct {
	S3 *s3.Client
	// Log receives one line per write; nil for none.
	Log io.Writer
}

// Apply runs the plan's actions, bucket by bucket, each bucket's in order
// (the public access block before the policy that needs it). A failed call
// stops that bucket; the others go on. Every failure is in Result.Errors.
func (e *Executor) Apply(ctx context.Context, p *Plan) *Result {
	c, log := e.S3, e.Log
	res := &Result{}
	if p == nil {
		return res
	}
	for _, bc := range p.Buckets {
		if len(bc.Actions) == 0 {
			res.BucketsUnchanged++
			continue
		}
		var err error
		for _, a := range bc.Actions {
			if err = do(ctx, c, a); err != nil {
				err = fmt.Errorf("S3 bucket %s: %s %s: %w", bc.Bucket, a.Op, a.Key, err)
				break
			}
			if log != nil {
				fmt.Fprintf(log, "  s3 %s %s%s\n", a.Op, a.Bucket, keySuffix(a.Key))
			}
			switch a.Op {
			case OpPutObject:
				res.ObjectsWritten++
			case OpDeleteObject:
				res.ObjectsDeleted++
			}
		}
		switch {
		case err != nil:
			res.Errors = append(res.Errors, err)
		case bc.Kind == KindCreate:
			res.BucketsCreated++
		default:
			res.BucketsUpdated++
		}
	}
	return res
}

func keySuffix(key string) string {
	if key == "" {
		return ""
	}
	return "/" + key
}

func do(ctx context.Context, c *s3.Client, a Action) error {
	opt := inRegion(a.Region)
	bucket := aws.String(a.Bucket)
	var err error
	switch a.Op {
	case OpCreateBucket:
		cfg := &types.CreateBucketConfiguration{Tags: s3Tags(a.Tags)}
		// us-east-1 is the default location and refuses a LocationConstraint.
		if a.Region != "us-east-1" {
			cfg.LocationConstraint = types.BucketLocationConstraint(a.Region)
		}
		_, err = c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket, CreateBucketConfiguration: cfg}, opt)
		if errorCode(err) == "BucketAlreadyOwnedByYou" {
			err = nil // a racing apply created it; the tagging that follows makes it ours
		}
	case OpPutBucketTags:
		_, err = c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: bucket, Tagging: &types.Tagging{TagSet: s3Tags(a.Tags)}}, opt)
	case OpPutPublicAccess:
		w := WantedPublicAccess
		_, err = c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: bucket,
			PublicAccessBlockConfiguration: &types.PublicAccessBlockConfiguration{
				BlockPublicAcls: aws.Bool(w.BlockPublicAcls), IgnorePublicAcls: aws.Bool(w.IgnorePublicAcls),
				BlockPublicPolicy: aws.Bool(w.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(w.RestrictPublicBuckets),
			}}, opt)
	case OpPutObject:
		_, err = c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(a.Key), Body: bytes.NewReader(a.Body),
			ContentType: aws.String(ContentType), Metadata: a.Metadata,
			// Issuers are fetched by IAM and token verifiers: a short cache
			// keeps a rotation quick to take effect.
			CacheControl: aws.String("max-age=300")}, opt)
	case OpPutPolicy:
		_, err = c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(a.Document)}, opt)
	case OpDeleteObject:
		_, err = c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(a.Key)}, opt)
	default:
		err = fmt.Errorf("internal: unknown operation %s", a.Op)
	}
	return err
}

func s3Tags(m map[string]string) []types.Tag {
	var out []types.Tag
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}
