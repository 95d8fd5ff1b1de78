package awsapi

import (
	"math"
	mrand "math/rand/v2"
	"sort"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// The AIMD rules, driven with a synthetic clock.
func TestLimiterAIMD(t *testing.T) {
	l := NewLimiter(0)
	if !math.IsInf(l.Rate(), 1) {
		t.Fatalf("no ceiling: starts at %v, want unlimited", l.Rate())
	}
	now := time.Unix(1000, 0)
	// 30 successes within the last second, then a throttle: the rate is
	// set from the measured 30/s, cut by Beta.
	for i := range 30 {
		l.Done(now.Add(time.Duration(i)*30*time.Millisecond), false)
	}
	now = now.Add(900 * time.Millisecond)
	l.Done(now, true)
	if got, want := l.Rate(), limiterBeta*30; math.Abs(got-want) > 0.01 {
		t.Fatalf("after the first throttle: %v, want %v", got, want)
	}
	// Throttles within the cooldown (attempts already in flight) do not cut again.
	l.Done(now.Add(100*time.Millisecond), true)
	l.Done(now.Add(200*time.Millisecond), true)
	if got := l.Rate(); math.Abs(got-limiterBeta*30) > 0.01 || l.Throttled() != 3 {
		t.Fatalf("in the cooldown: rate %v, throttled %d", got, l.Throttled())
	}
	// Successes raise it fast back to just below the rate that throttled
	// (0.95 × 30), then slowly: the limit is there.
	r0 := l.Rate()
	at := now.Add(time.Second)
	succeed := func(d time.Duration) {
		for end := at.Add(d); at.Before(end); at = at.Add(time.Duration(float64(time.Second) / l.Rate())) {
			l.Done(at, false)
		}
	}
	succeed(2 * time.Second)
	if got, near := l.Rate(), limiterNear*30; got < near || got > near+2*limiterProbeStep {
		t.Errorf("after two seconds of successes from %v: %v, want %v..%v", r0, got, near, near+2*limiterProbeStep)
	}
	// Probing: about ProbeStep per second through the band around 30.
	r1 := l.Rate()
	succeed(8 * time.Second)
	if got := l.Rate(); got < r1+7*limiterProbeStep || got > r1+9*limiterProbeStep {
		t.Errorf("probing for 8 s from %v: %v, want about +%v", r1, got, 8*limiterProbeStep)
	}
	// Past the band (the limit rose): 1 call/s per second again.
	succeed(20 * time.Second)
	r2 := l.Rate()
	if r2 < limiterBand*30 {
		t.Fatalf("still in the band after 30 s: %v", r2)
	}
	succeed(3 * time.Second)
	if got := l.Rate(); got < r2+2.5 || got > r2+3.5 {
		t.Errorf("above the band for 3 s from %v: %v, want about +3", r2, got)
	}
	// After the cooldown a throttle cuts again, from the measured rate,
	// which becomes the new ceiling.
	measured := l.Rate()
	l.Done(at, true)
	if got, want := l.Rate(), limiterBeta*measured; math.Abs(got-want) > 0.15*want {
		t.Errorf("second cut: %v, want about %v", got, want)
	}
	if math.Abs(l.ceiling-measured) > 0.15*measured {
		t.Errorf("ceiling %v, want about %v", l.ceiling, measured)
	}
}

func TestLimiterCeiling(t *testing.T) {
	l := NewLimiter(10)
	if l.Rate() != 10 {
		t.Fatalf("starts at %v, want the ceiling 10", l.Rate())
	}
	now := time.Unix(1000, 0)
	for i := range 200 {
		l.Done(now.Add(time.Duration(i)*10*time.Millisecond), false)
	}
	if l.Rate() != 10 {
		t.Errorf("grew to %v past the ceiling", l.Rate())
	}
	l.Done(now.Add(2*time.Second), true)
	if got := l.Rate(); got != 8 {
		t.Errorf("after a throttle: %v, want 8", got)
	}
	// A client that reaches only 2/s does not grow its rate further (its
	// concurrency, not the limit, bounds it).
	slow := NewLimiter(0)
	slow.Done(now, true) // measured 0: the floor
	for i := range 100 {
		slow.Done(now.Add(2*time.Second+time.Duration(i)*500*time.Millisecond), false)
	}
	if got := slow.Rate(); got > 2*2+1+0.01 {
		t.Errorf("slow client's rate grew to %v", got)
	}
}

// The limiter in closed loop against an account's token bucket (20
// calls/s, burst 20, answering Throttling), in simulated time: workers
// that each wait for a token, send, get the answer after a latency, and
// back off (as the SDK's retryer does, 0-2 s) when throttled. From an
// unknown limit and from --rate 20 the steady pace stays within a few
// percent of the limit, with under 1 % of the attempts throttled.
func TestLimiterClosedLoop(t *testing.T) {
	for _, tc := range []struct {
		max     float64
		workers int
		latency time.Duration
	}{
		{0, 8, 100 * time.Millisecond}, {0, 8, 300 * time.Millisecond}, {0, 16, 50 * time.Millisecond},
		{20, 8, 100 * time.Millisecond}, {20, 8, 300 * time.Millisecond},
	} {
		l := NewLimiter(tc.max)
		account := rate.NewLimiter(20, 20)
		start := time.Unix(1000, 0)
		rng := mrand.New(mrand.NewPCG(1, 2))
		type event struct {
			at   time.Time
			kind int // 0: wants a token, 1: sends, 2: gets the answer
			thr  bool
		}
		var queue []event
		push := func(e event) {
			i := sort.Search(len(queue), func(i int) bool { return queue[i].at.After(e.at) })
			queue = append(queue[:i], append([]event{e}, queue[i:]...)...)
		}
		for range tc.workers {
			push(event{at: start})
		}
		var ok, attempts, throttled int
		end := start.Add(60 * time.Second)
		for len(queue) > 0 && queue[0].at.Before(end) {
			e := queue[0]
			queue = queue[1:]
			switch e.kind {
			case 0:
				r := l.bucket.ReserveN(e.at, 1)
				push(event{at: e.at.Add(r.DelayFrom(e.at)), kind: 1})
			case 1:
				push(event{at: e.at.Add(tc.latency), kind: 2, thr: !account.AllowN(e.at, 1)})
			case 2:
				l.Done(e.at, e.thr)
				if e.at.After(start.Add(10 * time.Second)) {
					attempts++
					if e.thr {
						throttled++
					} else {
						ok++
					}
				}
				next := e.at
				if e.thr {
					next = next.Add(time.Duration(rng.Float64() * float64(2*time.Second)))
				}
				push(event{at: next})
			}
		}
		pace := float64(ok) / 50
		t.Logf("max %v, %d workers, latency %v: %.2f calls/s in steady state, %d of %d attempts throttled", tc.max, tc.workers, tc.latency, pace, throttled, attempts)
		if pace < 0.95*20 || float64(throttled) > 0.01*float64(attempts) {
			t.Errorf("max %v, %d workers, latency %v: %.2f calls/s (want ≥ 19), %d of %d attempts throttled (want ≤ 1 %%; plain AIMD: 1.2-2.4 %%)",
				tc.max, tc.workers, tc.latency, pace, throttled, attempts)
		}
	}
}
