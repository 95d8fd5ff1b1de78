package awsapi

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/iam"
)

// Once a run's Stop is requested, no client made from LoadConfig sends a
// request: the call fails with ErrInterrupted before reaching the server.
func TestStopGateRefusesNewCalls(t *testing.T) {
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		_, _ = w.Write([]byte(`<ListRolesResponse><ListRolesResult><Roles/><IsTruncated>false</IsTruncated></ListRolesResult></ListRolesResponse>`))
	}))
	defer srv.Close()
	t.Setenv("AWS_ACCESS_KEY_ID", "testing")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	stop := NewStop()
	ctx := WithStop(context.Background(), stop)
	cfg, err := LoadConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClientsFromConfig(cfg, ClientOptions{EndpointURL: srv.URL, Limiter: "none"})
	if _, err := c.IAM.ListRoles(ctx, &iam.ListRolesInput{}); err != nil {
		t.Fatalf("before the stop: %v", err)
	}
	stop.Request()
	_, err = c.IAM.ListRoles(ctx, &iam.ListRolesInput{})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("after the stop: got %v, want ErrInterrupted", err)
	}
	if n := requests.Load(); n != 1 {
		t.Fatalf("the server saw %d requests, want 1 (none after the stop)", n)
	}
	if got := c.Calls.Reads(); got != 1 {
		t.Errorf("counted reads = %d, want 1: a refused call is not a call", got)
	}
	// Without a Stop in the context, nothing is refused.
	if StopRequested(context.Background()) {
		t.Error("a context without a Stop reports it requested")
	}
}

func TestForEachRunsEveryItemAndJoinsErrors(t *testing.T) {
	var ran atomic.Int64
	var inFlight, peak atomic.Int64
	err := ForEach(context.Background(), 3, 20, func(_ context.Context, i int) error {
		ran.Add(1)
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		defer inFlight.Add(-1)
		if i%5 == 0 {
			return errors.New("item failed")
		}
		return nil
	})
	if ran.Load() != 20 {
		t.Errorf("ran %d items, want 20", ran.Load())
	}
	if peak.Load() > 3 {
		t.Errorf("%d items ran at once, limit 3", peak.Load())
	}
	if err == nil || len(err.(interface{ Unwrap() []error }).Unwrap()) != 4 {
		t.Errorf("err = %v, want the 4 failures joined", err)
	}
}
