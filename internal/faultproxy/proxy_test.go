package faultproxy

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// signed posts an IAM (or STS) request signed, as far as the proxy reads it, with key.
func signed(t *testing.T, url, key, service, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+key+"/20261130/us-east-1/"+service+"/aws4_request, SignedHeaders=host, Signature=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Each account has its own bucket: a burst in one account is throttled
// beyond the bucket's depth, and does not touch the other account's; the
// account of assumed-role keys is learned from AssumeRole responses; STS is
// not limited.
func TestPerAccountRateLimit(t *testing.T) {
	sts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAOTHER</AccessKeyId></Credentials>`+
			`<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/iambind/s</Arn></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`)
	}))
	defer sts.Close()
	other, otherHits := backend(t)
	p, err := Start(sts.URL, 1, Rates{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.SetAccounts(Accounts{Rate: 1, Burst: 3, DefaultAccount: "123456789012",
		Backends: map[string]string{"111122223333": other.URL}}); err != nil {
		t.Fatal(err)
	}
	if code, body := signed(t, p.URL, "testing", "sts", "Action=AssumeRole&RoleArn=x"); code != 200 || !strings.Contains(body, "ASIAOTHER") {
		t.Fatalf("AssumeRole through the proxy: %d %s", code, body)
	}
	ok, throttled := 0, 0
	for range 10 {
		switch code, body := signed(t, p.URL, "testing", "iam", "Action=GetRole"); {
		case code == 200:
			ok++
		case code == 400 && strings.Contains(body, "<Code>Throttling</Code>"):
			throttled++
		default:
			t.Fatalf("unexpected %d %s", code, body)
		}
	}
	if ok != 3 || throttled != 7 {
		t.Errorf("default account: %d passed, %d throttled; want the burst of 3, then throttling", ok, throttled)
	}
	// The other account (its learned key) has a full bucket and its own backend.
	for range 3 {
		if code, body := signed(t, p.URL, "ASIAOTHER", "iam", "Action=GetRole"); code != 200 || !strings.Contains(body, "<ok>") {
			t.Fatalf("other account: %d %s", code, body)
		}
	}
	if atomic.LoadInt64(otherHits) != 3 {
		t.Errorf("other account's backend saw %d requests, want 3", atomic.LoadInt64(otherHits))
	}
	c := p.AccountCounts()
	if c["123456789012"] != (AccountCount{Requests: 10, Throttled: 7}) || c["111122223333"] != (AccountCount{Requests: 3}) {
		t.Errorf("counts %+v", c)
	}
	var admitted, thr int64
	for _, sc := range p.AccountSeconds("123456789012") {
		admitted, thr = admitted+sc.Admitted, thr+sc.Throttled
	}
	if admitted != 3 || thr != 7 {
		t.Errorf("timeline of the default account: %d admitted, %d throttled", admitted, thr)
	}
	// STS is not rate limited (it has limits of its own, not modelled).
	for range 5 {
		if code, _ := signed(t, p.URL, "testing", "sts", "Action=GetCallerIdentity"); code != 200 {
			t.Errorf("STS throttled")
		}
	}
}

// faultSequence sends n IAM-shaped requests and returns one letter per
// answer (the status text's first letter, x for a dropped connection).
func faultSequence(t *testing.T, seed int64, rates Rates, n int) (string, Counts) {
	t.Helper()
	srv, _ := backend(t)
	p, err := Start(srv.URL, seed, rates)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Record()
	var s strings.Builder
	for range n {
		status, _, err := get(p.URL)
		if err != nil {
			s.WriteString("x")
			continue
		}
		s.WriteString(http.StatusText(status)[:1])
	}
	return s.String(), p.Counts()
}

// The seeds' fault sequences are pinned (recorded before FixedLatency and
// recording existed): adding FixedLatency, or recording, changes no
// decision the seed makes.
func TestFixedLatencyKeepsSeedSequence(t *testing.T) {
	rates := Rates{Throttle: 0.2, ServerError: 0.05, DropBefore: 0.025, DropAfter: 0.025, MaxLatency: 2 * time.Millisecond, LatencyPercent: 0.2}
	pinned := map[int64]struct {
		seq    string
		counts Counts
	}{
		7:    {"IOOOBOOOOOOOOSOOOOBOBOOOOOOOBOOOBOBOBOOIOIOxOOOOOBOOOBBOOOOO", Counts{Requests: 60, Forwarded: 46, Throttled: 10, ServerErrors: 4, DroppedAfter: 1, Delayed: 13}},
		1000: {"xBOOOOBOOOOOOOSOOOBOBxOOOOIOBOBOOIOOIBOOOOOOOBOOOOSOOOOOBOOO", Counts{Requests: 60, Forwarded: 45, Throttled: 9, ServerErrors: 5, DroppedBefore: 1, DroppedAfter: 1, Delayed: 16}},
	}
	for seed, want := range pinned {
		for _, fixed := range []time.Duration{0, time.Millisecond} {
			r := rates
			r.FixedLatency = fixed
			seq, counts := faultSequence(t, seed, r, 60)
			if seq != want.seq || counts != want.counts {
				t.Errorf("seed %d, FixedLatency %s: %s %+v\nwant %s %+v", seed, fixed, seq, counts, want.seq, want.counts)
			}
		}
	}
}

// FixedLatency delays every forwarded request by at least its value, can be
// changed while the proxy runs, and Record lists each request's action,
// role, times and outcome.
func TestFixedLatencyAndRecord(t *testing.T) {
	srv, hits := backend(t)
	const d = 150 * time.Millisecond
	p, err := Start(srv.URL, 1, Rates{FixedLatency: d})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Record()
	post := func(body string) {
		resp, err := http.Post(p.URL, "application/x-www-form-urlencoded", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	began := time.Now()
	post("Action=CreateRole&RoleName=app-1&Version=2010-05-08")
	if took := time.Since(began); took < d {
		t.Errorf("a request took %s through a proxy with FixedLatency %s", took, d)
	}
	p.SetFixedLatency(0)
	began = time.Now()
	post("Action=GetCallerIdentity&Version=2011-06-15")
	if took := time.Since(began); took >= d {
		t.Errorf("after SetFixedLatency(0) a request still took %s", took)
	}
	got := p.Requests()
	if len(got) != 2 {
		t.Fatalf("recorded %d requests, want 2: %+v", len(got), got)
	}
	if r := got[0]; r.Action != "CreateRole" || r.RoleName != "app-1" || r.Status != 200 || !r.Forwarded || r.Abandoned || r.End.Sub(r.Start) < d {
		t.Errorf("first request recorded as %+v", r)
	}
	if r := got[1]; r.Action != "GetCallerIdentity" || r.RoleName != "" || r.Status != 200 || !r.Start.After(got[0].Start) {
		t.Errorf("second request recorded as %+v", r)
	}
	if atomic.LoadInt64(hits) != 2 {
		t.Errorf("backend saw %d requests, want 2", atomic.LoadInt64(hits))
	}
}

// A client that gives up during FixedLatency is never forwarded: IAM does
// not see a call its caller abandoned before it was sent on.
func TestFixedLatencyAbandoned(t *testing.T) {
	srv, hits := backend(t)
	p, err := Start(srv.URL, 1, Rates{FixedLatency: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	p.Record()
	client := &http.Client{Timeout: 100 * time.Millisecond}
	if _, err := client.Post(p.URL, "application/x-www-form-urlencoded", strings.NewReader("Action=AttachRolePolicy&RoleName=app-2")); err == nil {
		t.Fatal("the request did not time out")
	}
	deadline := time.Now().Add(2 * time.Second)
	for p.Counts().Abandoned == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if c := p.Counts(); c.Abandoned != 1 || c.Forwarded != 0 {
		t.Errorf("counts %+v, want 1 abandoned, none forwarded", c)
	}
	if got := p.Requests(); len(got) != 1 || !got[0].Abandoned || got[0].Forwarded || got[0].Status != 0 || got[0].End.IsZero() || got[0].Action != "AttachRolePolicy" {
		t.Errorf("recorded %+v", got)
	}
	if atomic.LoadInt64(hits) != 0 {
		t.Errorf("backend saw %d requests, want 0", atomic.LoadInt64(hits))
	}
}
