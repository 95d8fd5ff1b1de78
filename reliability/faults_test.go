package reliability

import (
	"context"
	"fmt"
	"math/rand"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/iambind/iambind/internal/faultproxy"
	"github.com/iambind/iambind/internal/mototest"
)

// productionLikeFaults is the matrix of the issue: 20% throttling, 5% 5xx,
// 5% dropped connections (half before IAM saw the call, half after it did).
var productionLikeFaults = faultproxy.Rates{
	Throttle:       0.20,
	ServerError:    0.05,
	DropBefore:     0.025,
	DropAfter:      0.025,
	MaxLatency:     30 * time.Millisecond,
	LatencyPercent: 0.2,
}

// TestApplyUnderFaults: every seed must end with IAM exactly equal to the
// plan — either in one run, or after a failed run that said why and a second
// run that converged. The converge rate is reported.
func TestApplyUnderFaults(t *testing.T) {
	moto := mototest.Start(t)
	fx := buildPlan(t, 50, "faults")
	var firstRun, secondRun int
	var injected faultproxy.Counts
	list := seeds(1, 20)
	for _, seed := range list {
		moto.Reset(t)
		proxy, err := faultproxy.Start(moto.Endpoint, seed, productionLikeFaults)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		began := time.Now()
		r := runCLI(t, ctx, proxy.URL, "apply", "-f", fx.path)
		t.Logf("seed %d: first run exit %d in %s; %s", seed, r.code, time.Since(began).Round(time.Millisecond), lastLine(r.stdout))
		if r.code == 0 {
			firstRun++
		} else {
			t.Logf("seed %d: first run failed (exit %d): %s", seed, r.code, tail(r.stderr))
			if r.code != 1 || !strings.Contains(r.stderr, "iambind") {
				t.Errorf("seed %d: a failed run must exit 1 with a message, got %d:\n%s", seed, r.code, r.stderr)
			}
			// The operator re-runs; faults are still on.
			if r2 := runCLI(t, ctx, proxy.URL, "apply", "-f", fx.path); r2.code == 0 {
				secondRun++
			} else {
				t.Errorf("seed %d: the second run did not converge either (exit %d):\n%s", seed, r2.code, tail(r2.stderr))
			}
		}
		cancel()
		c := proxy.Counts()
		injected.Requests += c.Requests
		injected.Throttled += c.Throttled
		injected.ServerErrors += c.ServerErrors
		injected.DroppedBefore += c.DroppedBefore
		injected.DroppedAfter += c.DroppedAfter
		proxy.Close()
		if !converged(t, moto.Endpoint, fx) {
			t.Errorf("seed %d: IAM does not equal the plan", seed)
		}
		if bad := untaggedRoles(t, moto.Endpoint); len(bad) > 0 {
			t.Errorf("seed %d: roles without the owner tag: %v", seed, bad)
		}
	}
	t.Logf("converge rate under faults: %d/%d seeds in one run, %d/%d after one re-run; injected over %d requests: %d throttles, %d 5xx, %d dropped before, %d dropped after",
		firstRun, len(list), firstRun+secondRun, len(list), injected.Requests, injected.Throttled, injected.ServerErrors, injected.DroppedBefore, injected.DroppedAfter)
}

// TestKillAndRerun SIGKILLs apply at random points of a large plan; after each
// kill no role may exist without its owner tags (they ride on CreateRole), and
// a re-run converges exactly.
func TestKillAndRerun(t *testing.T) {
	moto := mototest.Start(t)
	fx := buildPlan(t, 60, "killer")

	// Measure one full apply to spread the kill points over it.
	ctx := context.Background()
	start := time.Now()
	if r := runCLI(t, ctx, moto.Endpoint, "apply", "-f", fx.path); r.code != 0 {
		t.Fatalf("baseline apply failed: %s", r.stderr)
	}
	full := time.Since(start)

	points := seeds(3, 20)
	rng := rand.New(rand.NewSource(42))
	survived := 0
	for i := range points {
		moto.Reset(t)
		// A kill point between 5% and 95% of a full run.
		delay := time.Duration(float64(full) * (0.05 + 0.9*rng.Float64()))
		cmd := exec.Command(iambindBin, "apply", "-f", fx.path)
		cmd.Env = append(cmd.Environ(), cliEnv(moto.Endpoint)...)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(delay)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if bad := untaggedRoles(t, moto.Endpoint); len(bad) > 0 {
			t.Errorf("kill %d at %s: roles exist without the owner tag: %v", i, delay, bad)
		}
		if r := runCLI(t, ctx, moto.Endpoint, "apply", "-f", fx.path); r.code != 0 {
			t.Errorf("kill %d at %s: the re-run failed:\n%s", i, delay, tail(r.stderr))
			continue
		}
		if converged(t, moto.Endpoint, fx) {
			survived++
		}
	}
	t.Logf("kill points survived: %d/%d (full apply of %d roles takes %s)", survived, len(points), len(fx.roles), full.Round(time.Millisecond))
}

// TestConcurrentApplies: two applies of the same plan at once both succeed
// (EntityAlreadyExists and ConcurrentModification are absorbed) and IAM converges.
func TestConcurrentApplies(t *testing.T) {
	moto := mototest.Start(t)
	fx := buildPlan(t, 40, "racer")
	rounds := 2
	if long() {
		rounds = 5
	}
	for round := 0; round < rounds; round++ {
		moto.Reset(t)
		var wg sync.WaitGroup
		results := make([]cliResult, 2)
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				results[i] = runCLI(t, context.Background(), moto.Endpoint, "apply", "--concurrency", fmt.Sprint(2+2*i), "-f", fx.path)
			}(i)
		}
		wg.Wait()
		for i, r := range results {
			if r.code != 0 {
				t.Errorf("round %d: apply %d exited %d:\n%s", round, i, r.code, tail(r.stderr))
			}
		}
		converged(t, moto.Endpoint, fx)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return strings.Join(lines, "\n")
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
