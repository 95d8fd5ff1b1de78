package reconcile

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"
)

// DefaultRegion signs IAM requests when no region is configured: IAM is a
// global service served from us-east-1 in the aws partition.
const DefaultRegion = "us-east-1"

// Retry tuning for IAM, whose control plane throttles hard: more attempts
// and a longer backoff ceiling than the SDK defaults (3 attempts, 20 s).
const (
	retryMaxAttempts = 10
	retryMaxBackoff  = 30 * time.Second
)

// CallCounter counts IAM operations, reads and writes apart, and the extra
// HTTP attempts the retryer made for them (throttling, 5xx, dropped
// connections). It is middleware on the SDK stack, so no call site can forget it.
type CallCounter struct {
	reads, writes, attempts atomic.Int64
}

// Retries is the number of attempts beyond the first, over all operations.
func (c *CallCounter) Retries() int64 {
	return max(0, c.attempts.Load()-c.reads.Load()-c.writes.Load())
}

// Reads is the number of read operations made so far.
func (c *CallCounter) Reads() int64 { return c.reads.Load() }

// Writes is the number of write operations made so far.
func (c *CallCounter) Writes() int64 { return c.writes.Load() }

// IsReadOperation reports whether an IAM or S3 operation only reads.
func IsReadOperation(op string) bool {
	for _, p := range []string{"Get", "List", "Generate", "Head"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

func (c *CallCounter) addMiddleware(stack *middleware.Stack) error {
	// Finalize after the retry middleware runs once per HTTP attempt.
	attempts := middleware.FinalizeMiddlewareFunc("iambindAttemptCounter",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			c.attempts.Add(1)
			return next.HandleFinalize(ctx, in)
		})
	if err := stack.Finalize.Insert(attempts, "Retry", middleware.After); err != nil {
		return err
	}
	// Initialize runs once per operation, outside the retry loop.
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("iambindCallCounter",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if IsReadOperation(awsmiddleware.GetOperationName(ctx)) {
				c.reads.Add(1)
			} else {
				c.writes.Add(1)
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.After)
}

// Clients are the AWS clients the reconcile job uses.
type Clients struct {
	IAM   *iam.Client
	STS   *sts.Client
	Calls *CallCounter
	// S3 publishes self-hosted OIDC issuers; its calls are counted apart.
	S3      *s3.Client
	S3Calls *CallCounter
}

// NewClients loads the standard credential chain (env, profile, IRSA web
// identity) and builds the clients. endpointURL overrides the endpoint
// (AWS_ENDPOINT_URL is honoured by the SDK itself).
func NewClients(ctx context.Context, endpointURL string) (*Clients, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(newRetryer))
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	counter := &CallCounter{}
	iamClient := iam.NewFromConfig(cfg, func(o *iam.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
		o.APIOptions = append(o.APIOptions, counter.addMiddleware)
	})
	stsClient := sts.NewFromConfig(cfg, func(o *sts.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
	})
	s3Counter := &CallCounter{}
	s3Client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
		// An emulator (or any endpoint override) has no per-bucket DNS
		// names: address buckets by path there.
		o.UsePathStyle = endpointURL != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		o.APIOptions = append(o.APIOptions, s3Counter.addMiddleware)
		// Emulators send no checksums; do not log about every response.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return &Clients{IAM: iamClient, STS: stsClient, Calls: counter, S3: s3Client, S3Calls: s3Counter}, nil
}

func newRetryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = retryMaxAttempts
		o.MaxBackoff = retryMaxBackoff
		// The default token bucket gives up after a burst of throttles; IAM
		// throttling is expected during large applies, so keep retrying.
		o.RateLimiter = ratelimit.None
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: map[string]struct{}{
			"ConcurrentModification":          {},
			"ConcurrentModificationException": {},
			"ServiceFailure":                  {},
		}})
	})
}
