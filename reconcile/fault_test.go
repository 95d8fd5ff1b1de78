package reconcile

import (
	"strings"
	"testing"

	"github.com/iambind/iambind/internal/faultproxy"
)

// TestIntegrationConvergesUnderFaults puts a fault-injecting proxy between
// iambind and moto (throttling, 5xx, connections dropped before and after
// IAM did the work): every run either converges or fails cleanly, and the
// next run converges to exactly the plan.
func TestIntegrationConvergesUnderFaults(t *testing.T) {
	e := newEnv(t)
	proxy, err := faultproxy.Start(e.srv.Endpoint, 7, faultproxy.Rates{
		Throttle: 0.15, ServerError: 0.10, DropBefore: 0.05, DropAfter: 0.05,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	rendered := threeRoles(t)
	file := e.file(rendered)
	converged, retriesReported := false, false
	for attempt := 1; attempt <= 4 && !converged; attempt++ {
		r := e.run("", "apply", "-f", file, "--endpoint-url", proxy.URL)
		retriesReported = retriesReported || strings.Contains(r.stdout, "retried attempts)")
		switch r.code {
		case 0:
			converged = true
		case 1:
			t.Logf("apply %d failed cleanly (a rerun must converge):\n%s", attempt, r.stderr)
		default:
			t.Fatalf("apply %d: exit %d\n%s", attempt, r.code, r.stderr)
		}
	}
	c := proxy.Counts()
	t.Logf("proxy: %+v", c)
	if !converged {
		t.Fatal("apply did not converge in 4 runs")
	}
	if c.Throttled+c.ServerErrors+c.DroppedBefore+c.DroppedAfter == 0 {
		t.Fatal("the proxy injected no fault: the test proves nothing")
	}
	if !retriesReported {
		t.Error("the apply summary does not report the retried attempts the faults caused")
	}
	proxy.Disable()
	e.requireMatches(rendered)
	if code := e.planExit(rendered); code != 0 {
		t.Fatalf("plan after convergence: exit %d", code)
	}
}
