// Package awsapi builds the AWS clients of one reconcile run: the standard
// credential chain, iambind's retryer, the per-account rate limiter, call
// counting, the graceful-stop gate, and one bounded ForEach for concurrent
// calls. Every service room (IAM, S3, EKS) gets its clients here, so a
// cross-cutting concern is added once, as middleware on the SDK stack.
package awsapi

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
	"github.com/aws/aws-sdk-go-v2/service/eks"
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

// IsReadOperation reports whether an IAM, S3 or EKS operation only reads.
func IsReadOperation(op string) bool {
	for _, p := range []string{"Get", "List", "Generate", "Head", "Describe"} {
		if strings.HasPrefix(op, p) {
			return true
		}
	}
	return false
}

// AddTo puts the counter on an SDK client's middleware stack
// (Options.APIOptions).
func (c *CallCounter) AddTo(stack *middleware.Stack) error {
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

// Clients are the AWS clients the reconcile job uses for one account.
type Clients struct {
	IAM   *iam.Client
	STS   *sts.Client
	Calls *CallCounter
	// S3 publishes self-hosted OIDC issuers; its calls are counted apart.
	S3      *s3.Client
	S3Calls *CallCounter
	// Config is the loaded configuration, for the clients of other
	// services (NewEKS).
	Config aws.Config
	// Limiter paces the IAM calls (nil with --limiter none or sdk-adaptive).
	Limiter *Limiter
}

// ClientOptions tune the clients of one account.
type ClientOptions struct {
	// EndpointURL overrides the endpoint (AWS_ENDPOINT_URL is honoured by
	// the SDK itself).
	EndpointURL string
	// Rate is the ceiling of IAM calls per second (0: none, adapt from the
	// first throttle).
	Rate float64
	// Limiter is "aimd" (the default, see Limiter), "sdk-adaptive" (the
	// SDK's retry.NewAdaptiveMode, for comparison) or "none".
	Limiter string
}

// NewClients loads the standard credential chain (env, profile, IRSA web
// identity) and builds the clients with the default limiter.
func NewClients(ctx context.Context, endpointURL string) (*Clients, error) {
	cfg, err := LoadConfig(ctx)
	if err != nil {
		return nil, err
	}
	return NewClientsFromConfig(cfg, ClientOptions{EndpointURL: endpointURL}), nil
}

// LoadConfig loads the standard credential chain with iambind's retryer
// and the default region for IAM.
func LoadConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(newRetryer))
	if err != nil {
		return aws.Config{}, fmt.Errorf("loading AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	// Every client made from cfg starts no call once the run is stopping.
	cfg.APIOptions = append(cfg.APIOptions, stopGate)
	return cfg, nil
}

// NewClientsFromConfig builds one account's clients from cfg (whose
// credentials may be an assumed role's), each with its own call counter
// and limiter.
func NewClientsFromConfig(cfg aws.Config, o ClientOptions) *Clients {
	counter := &CallCounter{}
	c := &Clients{Calls: counter}
	switch o.Limiter {
	case "none":
	case "sdk-adaptive":
		cfg.Retryer = newAdaptiveRetryer
	default:
		c.Limiter = NewLimiter(o.Rate)
	}
	c.IAM = iam.NewFromConfig(cfg, func(o2 *iam.Options) {
		if o.EndpointURL != "" {
			o2.BaseEndpoint = aws.String(o.EndpointURL)
		}
		o2.APIOptions = append(o2.APIOptions, counter.AddTo)
		if c.Limiter != nil {
			o2.APIOptions = append(o2.APIOptions, c.Limiter.addMiddleware)
		}
	})
	c.STS = sts.NewFromConfig(cfg, func(o2 *sts.Options) {
		if o.EndpointURL != "" {
			o2.BaseEndpoint = aws.String(o.EndpointURL)
		}
	})
	c.S3Calls = &CallCounter{}
	c.S3 = s3.NewFromConfig(cfg, func(o2 *s3.Options) {
		if o.EndpointURL != "" {
			o2.BaseEndpoint = aws.String(o.EndpointURL)
		}
		// An emulator (or any endpoint override) has no per-bucket DNS
		// names: address buckets by path there.
		o2.UsePathStyle = o.EndpointURL != "" || os.Getenv("AWS_ENDPOINT_URL") != "" || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
		o2.APIOptions = append(o2.APIOptions, c.S3Calls.AddTo)
		// Emulators send no checksums; do not log about every response.
		o2.DisableLogOutputChecksumValidationSkipped = true
	})
	c.Config = cfg
	return c
}

// newAdaptiveRetryer is the SDK's adaptive mode over the same standard
// options, kept to compare it with Limiter (--limiter sdk-adaptive).
func newAdaptiveRetryer() aws.Retryer {
	return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
		o.StandardOptions = append(o.StandardOptions, standardOptions)
	})
}

func newRetryer() aws.Retryer { return retry.NewStandard(standardOptions) }

func standardOptions(o *retry.StandardOptions) {
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
}

// NewEKS builds an EKS client (Pod Identity associations) from the
// account's configuration, with its own call counter. endpointURL, when
// set, overrides the endpoint.
func NewEKS(cfg aws.Config, endpointURL string) (*eks.Client, *CallCounter) {
	counter := &CallCounter{}
	client := eks.NewFromConfig(cfg, func(o *eks.Options) {
		if endpointURL != "" {
			o.BaseEndpoint = aws.String(endpointURL)
		}
		o.APIOptions = append(o.APIOptions, counter.AddTo)
	})
	return client, counter
}
