package reconcile

import (
	"math"
	"testing"
	"time"
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
	// Successes raise it by at most about 1/s per second at that pace
	// (less while the measured rate is still below half the rate).
	r0 := l.Rate()
	for i := range 48 {
		l.Done(now.Add(time.Second+time.Duration(i)*40*time.Millisecond), false)
	}
	if got := l.Rate(); got < r0+1 || got > r0+2.05 {
		t.Errorf("after two seconds of successes: %v, want %v + 1..2", got, r0)
	}
	// After the cooldown a throttle cuts again.
	now = now.Add(3 * time.Second)
	l.Done(now, true)
	if got := l.Rate(); got >= r0 {
		t.Errorf("second cut: %v, want below %v", got, r0)
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
