package awsapi

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// Limiter paces one account's IAM calls. IAM throttles each account's
// control plane, so the fastest a run can go is the account's rate limit;
// every throttled attempt is time lost (and a retry backoff for that
// worker). The limiter is a token bucket (golang.org/x/time/rate) whose
// rate adapts to throttling by AIMD that remembers where it was throttled;
// its small burst lets workers that were late (a slow response) catch up
// without ever sending a large burst:
//
//   - a throttled attempt cuts the rate to Beta × min(rate, the rate of
//     successful attempts over the last second), at most once per Cooldown
//     (the attempts already in flight answer the same overload), and
//     remembers that min as the ceiling: the rate that throttled;
//   - successful attempts raise the rate additively, by how far it is from
//     the ceiling: fast (FastStep calls/s per second) back to just below it,
//     slowly (ProbeStep) through the band around it, where the account's
//     limit is, and by 1 call/s per second above that band or with no
//     ceiling yet; never above Max (--rate) and never far above what the
//     client actually achieves (its concurrency may be the real bound).
//
// So after a cut the rate spends a moment, not seconds, below the limit, and
// most of the time within a few percent of it. Plain AIMD (1 call/s per
// second from 0.8 × the limit) saws between 16 and 24 calls/s under a 20/s
// limit; the account's one-second burst absorbs most of that, but it
// throttles about twice as often (docs/benchmarks.md, TestLimiterClosedLoop).
//
// With no Max the rate starts unlimited and the first throttle sets it from
// the measured rate. Every HTTP attempt waits for a token, retries included.
//
// Why not the SDK's retry.NewAdaptiveMode (CUBIC): it has no ceiling to
// start from (--rate), and it cuts by 0.7 on every throttled attempt, so the
// several attempts in flight when the account's bucket runs dry cut the
// rate several times over; docs/benchmarks.md compares both under the same
// per-account limit (hidden flag --limiter sdk-adaptive).
type Limiter struct {
	// Max is the ceiling in calls/s (0: none).
	Max float64

	bucket    *rate.Limiter
	mu        sync.Mutex
	lastCut   time.Time
	ceiling   float64 // the rate that last throttled (0: none yet)
	window    [10]int // successes per 100 ms slot, for the measured rate
	slot      int64   // index (unix 100 ms) of window[slot%10]
	throttled atomic.Int64
}

// AIMD constants (docs/benchmarks.md "Rate-aware execution").
const (
	limiterBeta     = 0.8
	limiterCooldown = time.Second
	limiterMinRate  = 0.5
	limiterBurst    = 4
	// Additive increase, calls/s gained per second of successes: FastStep
	// below Near × the ceiling, ProbeStep from there to Band × the ceiling
	// (where the limit was found), 1 above it or with no ceiling.
	limiterFastStep  = 4.0
	limiterProbeStep = 0.25
	limiterNear      = 0.95
	limiterBand      = 1.1
)

// NewLimiter returns a limiter with ceiling max calls/s (0: unlimited until
// the first throttle).
func NewLimiter(max float64) *Limiter {
	l := &Limiter{Max: max}
	if max > 0 {
		l.bucket = rate.NewLimiter(rate.Limit(max), limiterBurst)
	} else {
		l.bucket = rate.NewLimiter(rate.Inf, limiterBurst)
	}
	return l
}

// Rate is the current pace in calls/s (+Inf when unlimited).
func (l *Limiter) Rate() float64 {
	if l.bucket.Limit() == rate.Inf {
		return math.Inf(1)
	}
	return float64(l.bucket.Limit())
}

// Throttled is how many attempts were answered with throttling.
func (l *Limiter) Throttled() int64 { return l.throttled.Load() }

// Wait blocks until the next attempt may go.
func (l *Limiter) Wait(ctx context.Context) error { return l.bucket.Wait(ctx) }

// Done records the outcome of one attempt.
func (l *Limiter) Done(now time.Time, throttled bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	measured := l.record(now, !throttled)
	cur := l.Rate()
	if throttled {
		l.throttled.Add(1)
		if now.Sub(l.lastCut) < limiterCooldown {
			return
		}
		l.lastCut = now
		l.ceiling = math.Min(cur, math.Max(measured, limiterMinRate))
		next := math.Max(limiterMinRate, limiterBeta*l.ceiling)
		l.bucket.SetLimitAt(now, rate.Limit(next))
		return
	}
	if math.IsInf(cur, 1) {
		return
	}
	step := 1.0 // calls/s per second; each success at rate cur adds step/cur
	switch {
	case l.ceiling == 0 || cur >= limiterBand*l.ceiling:
	case cur < limiterNear*l.ceiling:
		step = limiterFastStep
	default:
		step = limiterProbeStep
	}
	next := cur + step/cur
	if cur < limiterNear*l.ceiling {
		next = math.Min(next, limiterNear*l.ceiling) // the fast climb stops just below
	}
	if l.Max > 0 {
		next = math.Min(next, l.Max)
	}
	// Do not grow a rate the client does not reach (cwnd validation): then
	// the next overload would start from a fictitious rate.
	if next > 2*measured+1 {
		return
	}
	l.bucket.SetLimitAt(now, rate.Limit(next))
}

// record counts a success in the sliding one-second window and returns the
// successes of the last second (the measured rate in calls/s).
func (l *Limiter) record(now time.Time, success bool) float64 {
	s := now.UnixMilli() / 100
	if s-l.slot >= int64(len(l.window)) {
		l.window = [10]int{}
	} else {
		for i := l.slot + 1; i <= s; i++ {
			l.window[i%10] = 0
		}
	}
	if s > l.slot {
		l.slot = s
	}
	if success {
		l.window[s%10]++
	}
	n := 0
	for _, c := range l.window {
		n += c
	}
	return float64(n)
}

// isThrottle reports whether an attempt's error is IAM throttling.
func isThrottle(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		_, ok := retry.DefaultThrottleErrorCodes[ae.ErrorCode()]
		return ok
	}
	return false
}

// addMiddleware paces every HTTP attempt (it sits inside the retry loop).
func (l *Limiter) addMiddleware(stack *middleware.Stack) error {
	return stack.Finalize.Insert(middleware.FinalizeMiddlewareFunc("iambindRateLimiter",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			if err := l.Wait(ctx); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("rate limiter: %w", err)
			}
			out, md, err := next.HandleFinalize(ctx, in)
			l.Done(time.Now(), isThrottle(err))
			return out, md, err
		}), "Retry", middleware.After)
}
