package iam

import (
	"context"
	"errors"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/iambind/iambind/internal/awsapi"
	"github.com/iambind/iambind/reconcile/change"
)

// DocumentGetter is the part of the IAM client that reads a managed
// policy's document.
type DocumentGetter interface {
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, optFns ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, optFns ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

// DocumentReader reads managed policies' default-version documents, so the
// guardrails can judge a managed policy by what it grants rather than by
// its name: two reads per distinct ARN (GetPolicy for the default version,
// GetPolicyVersion for its document), once per run.
type DocumentReader struct {
	IAM         DocumentGetter
	Concurrency int

	mu    sync.Mutex
	cache map[string]string
	reads int
}

// Read returns the documents (URL-decoded JSON) of the policies, by ARN. A
// policy that does not exist is in missing (the preflight reports it); one
// whose document cannot be read (no permission) has no entry at all: the
// caller decides what that means (the guardrails refuse what they cannot
// judge).
func (d *DocumentReader) Read(ctx context.Context, arns []string) (docs map[string]string, missing []string, err error) {
	got := make([]string, len(arns))
	absent := make([]bool, len(arns))
	err = awsapi.ForEach(ctx, d.Concurrency, len(arns), func(ctx context.Context, i int) error {
		doc, err := d.read(ctx, arns[i])
		got[i], absent[i] = doc, errors.Is(err, errNoPolicy)
		if absent[i] {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	docs = map[string]string{}
	for i, a := range arns {
		switch {
		case absent[i]:
			missing = append(missing, a)
		case got[i] != "":
			docs[a] = got[i]
		}
	}
	return docs, missing, nil
}

var errNoPolicy = errors.New("no such policy")

// Reads is the number of IAM calls made so far.
func (d *DocumentReader) Reads() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads
}

func (d *DocumentReader) read(ctx context.Context, arn string) (string, error) {
	d.mu.Lock()
	if doc, ok := d.cache[arn]; ok {
		d.mu.Unlock()
		return doc, nil
	}
	d.mu.Unlock()
	doc, reads, err := d.fetch(ctx, arn)
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.reads += reads
	if err == nil {
		if d.cache == nil {
			d.cache = map[string]string{}
		}
		d.cache[arn] = doc
	}
	if errors.Is(err, errNoPolicy) {
		return "", err
	}
	return doc, nil
}

func (d *DocumentReader) fetch(ctx context.Context, arn string) (doc string, reads int, err error) {
	p, err := d.IAM.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil || p.Policy == nil || p.Policy.DefaultVersionId == nil {
		var nse *types.NoSuchEntityException
		if err == nil || errors.As(err, &nse) || awsapi.IsCode(err, "NoSuchEntity") {
			err = errNoPolicy
		}
		return "", 1, err
	}
	v, err := d.IAM.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil || v.PolicyVersion == nil {
		return "", 2, errors.Join(err, errors.New("no policy version"))
	}
	doc, err = change.DecodeIAMDocument(aws.ToString(v.PolicyVersion.Document))
	return doc, 2, err
}
