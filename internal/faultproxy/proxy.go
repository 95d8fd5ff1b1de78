// Package faultproxy is a test helper: a loopback HTTP proxy placed between
// the AWS SDK and moto that injects, by seed, the faults IAM shows in
// production — throttling, 5xx, connections dropped before or after the
// request was processed, and latency — so tests can prove that a run either
// converges to the plan or fails cleanly and converges on the next run.
package faultproxy

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Rates are probabilities in [0,1] per request; they are drawn in order and
// at most one fault applies to a request.
type Rates struct {
	Throttle       float64 // HTTP 400 with IAM error code Throttling, not forwarded
	ServerError    float64 // HTTP 500 ServiceFailure or 503 ServiceUnavailable, not forwarded
	DropBefore     float64 // connection closed before forwarding: IAM never saw it
	DropAfter      float64 // forwarded (IAM did it) but the connection is cut mid-response
	MaxLatency     time.Duration
	LatencyPercent float64 // share of requests delayed by up to MaxLatency
}

// Counts of what the proxy did, for reports.
type Counts struct {
	Requests, Forwarded, Throttled, ServerErrors, DroppedBefore, DroppedAfter, Delayed int64
}

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL    string
	server *httptest.Server
	target *url.URL
	rates  Rates
	mu     sync.Mutex
	rng    *rand.Rand
	counts Counts
	off    atomic.Bool
	// accounts is the per-account rate limit and routing (accounts.go), or nil.
	accounts atomic.Pointer[accountState]
}

// Start proxies to target (moto's endpoint) with faults drawn from seed.
func Start(target string, seed int64, rates Rates) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, rates: rates, rng: rand.New(rand.NewSource(seed))}
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.server.Close() }

// Disable turns faults off (the proxy then forwards everything).
func (p *Proxy) Disable() { p.off.Store(true) }

// Counts returns a snapshot of what was injected so far.
func (p *Proxy) Counts() Counts {
	return Counts{
		Requests: atomic.LoadInt64(&p.counts.Requests), Forwarded: atomic.LoadInt64(&p.counts.Forwarded),
		Throttled: atomic.LoadInt64(&p.counts.Throttled), ServerErrors: atomic.LoadInt64(&p.counts.ServerErrors),
		DroppedBefore: atomic.LoadInt64(&p.counts.DroppedBefore), DroppedAfter: atomic.LoadInt64(&p.counts.DroppedAfter),
		Delayed: atomic.LoadInt64(&p.counts.Delayed),
	}
}

type fault int

const (
	none fault = iota
	throttle
	serverError
	dropBefore
	dropAfter
)

// draw picks this request's fault and delay under the lock, so one seed
// gives one sequence of decisions.
func (p *Proxy) draw() (fault, time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var delay time.Duration
	if p.rates.MaxLatency > 0 && p.rng.Float64() < p.rates.LatencyPercent {
		delay = time.Duration(p.rng.Int63n(int64(p.rates.MaxLatency)))
	}
	r := p.rng.Float64()
	is503 := p.rng.Intn(2) == 0
	if p.off.Load() {
		return none, 0, false
	}
	for _, f := range []struct {
		rate float64
		kind fault
	}{{p.rates.Throttle, throttle}, {p.rates.ServerError, serverError}, {p.rates.DropBefore, dropBefore}, {p.rates.DropAfter, dropAfter}} {
		if r < f.rate {
			return f.kind, delay, is503
		}
		r -= f.rate
	}
	return none, delay, is503
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	atomic.AddInt64(&p.counts.Requests, 1)
	body, _ := io.ReadAll(r.Body)
	target := p.target
	accounts := p.accounts.Load()
	var account, service string
	admitted := time.Now()
	if accounts != nil {
		account, service = accounts.identify(r)
		if !accounts.admit(account, service, admitted) {
			atomic.AddInt64(&p.counts.Throttled, 1)
			writeIAMError(w, http.StatusBadRequest, "Sender", "Throttling", "Rate exceeded")
			return
		}
		if u := accounts.backend(account); u != nil {
			target = u
		}
	}
	kind, delay, is503 := p.draw()
	if delay > 0 {
		atomic.AddInt64(&p.counts.Delayed, 1)
		time.Sleep(delay)
	}
	switch kind {
	case throttle:
		atomic.AddInt64(&p.counts.Throttled, 1)
		writeIAMError(w, http.StatusBadRequest, "Sender", "Throttling", "Rate exceeded")
		return
	case serverError:
		atomic.AddInt64(&p.counts.ServerErrors, 1)
		if is503 {
			writeIAMError(w, http.StatusServiceUnavailable, "Receiver", "ServiceUnavailable", "Service is unavailable")
		} else {
			writeIAMError(w, http.StatusInternalServerError, "Receiver", "ServiceFailure", "Internal failure")
		}
		return
	case dropBefore:
		atomic.AddInt64(&p.counts.DroppedBefore, 1)
		hijackAndClose(w, nil)
		return
	}

	rec := httptest.NewRecorder()
	proxy := httputil.NewSingleHostReverseProxy(target)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Host = target.Host
	t0 := time.Now()
	proxy.ServeHTTP(rec, r)
	if accounts != nil {
		accounts.took(account, service, admitted, time.Since(t0))
	}
	atomic.AddInt64(&p.counts.Forwarded, 1)
	if accounts != nil && bytes.Contains(body, []byte("Action=AssumeRole")) {
		accounts.learn(rec.Body.Bytes())
	}

	if kind == dropAfter {
		// IAM did the work; the client sees headers and half a body, then EOF.
		atomic.AddInt64(&p.counts.DroppedAfter, 1)
		var partial bytes.Buffer
		fmt.Fprintf(&partial, "HTTP/1.1 %d %s\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n",
			rec.Code, http.StatusText(rec.Code), rec.Body.Len())
		partial.Write(rec.Body.Bytes()[:rec.Body.Len()/2])
		hijackAndClose(w, partial.Bytes())
		return
	}
	for k, vs := range rec.Header() {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

func writeIAMError(w http.ResponseWriter, status int, typ, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>%s</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>`, typ, code, msg)
}

// hijackAndClose writes raw bytes (maybe none) and closes the TCP connection.
func hijackAndClose(w http.ResponseWriter, raw []byte) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic("faultproxy: response writer cannot be hijacked")
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	if len(raw) > 0 {
		buf.Write(raw)
		buf.Flush()
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		tcp.SetLinger(0) // a reset, as a dropped connection looks to the client
	}
	conn.Close()
}
