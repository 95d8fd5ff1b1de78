package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func backend(t *testing.T) (*httptest.Server, *int64) {
	var hits int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		atomic.AddInt64(&hits, 1)
		io.WriteString(w, "<ok>"+strings.Repeat("x", 100)+"</ok>")
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func get(url string) (int, string, error) {
	resp, err := http.Post(url, "text/plain", strings.NewReader("Action=GetRole"))
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestEachFaultKind(t *testing.T) {
	cases := []struct {
		name       string
		rates      Rates
		wantStatus int
		wantBody   string
		wantErr    bool
		forwarded  int64
	}{
		{"throttle", Rates{Throttle: 1}, 400, "<Code>Throttling</Code>", false, 0},
		{"server error", Rates{ServerError: 1}, 0, "</ErrorResponse>", false, 0},
		{"drop before", Rates{DropBefore: 1}, 0, "", true, 0},
		{"drop after", Rates{DropAfter: 1}, 0, "", true, 1},
		{"clean", Rates{}, 200, "<ok>", false, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, hits := backend(t)
			p, err := Start(srv.URL, 1, c.rates)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			status, body, err := get(p.URL)
			if (err != nil) != c.wantErr {
				t.Fatalf("err = %v, want error %v", err, c.wantErr)
			}
			if c.wantStatus != 0 && status != c.wantStatus {
				t.Errorf("status %d, want %d", status, c.wantStatus)
			}
			if c.name == "server error" && status != 500 && status != 503 {
				t.Errorf("status %d, want 500 or 503", status)
			}
			if !strings.Contains(body, c.wantBody) {
				t.Errorf("body %q lacks %q", body, c.wantBody)
			}
			if got := atomic.LoadInt64(hits); got != c.forwarded {
				t.Errorf("backend saw %d requests, want %d", got, c.forwarded)
			}
		})
	}
}

func TestSameSeedSameFaults(t *testing.T) {
	sequence := func(seed int64) string {
		srv, _ := backend(t)
		p, _ := Start(srv.URL, seed, Rates{Throttle: 0.3, ServerError: 0.2})
		defer p.Close()
		var s strings.Builder
		for i := 0; i < 40; i++ {
			status, _, _ := get(p.URL)
			s.WriteString(http.StatusText(status)[:1])
		}
		return s.String()
	}
	a, b := sequence(7), sequence(7)
	if a != b {
		t.Errorf("seed 7 gave %s then %s", a, b)
	}
	if a == sequence(8) {
		t.Error("seeds 7 and 8 gave the same faults")
	}
}
