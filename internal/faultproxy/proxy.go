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
	// FixedLatency delays every request that is to be forwarded by exactly
	// this much before the target sees it (on top of any MaxLatency delay):
	// a deterministic slow IAM. It draws nothing from the seed, so a seed
	// gives the same faults with or without it. A client that goes away
	// during the delay is not forwarded (Counts.Abandoned). SetFixedLatency
	// changes it while the proxy runs.
	FixedLatency time.Duration
}

// Counts of what the proxy did, for reports.
type Counts struct {
	Requests, Forwarded, Throttled, ServerErrors, DroppedBefore, DroppedAfter, Delayed int64
	// Abandoned: the client went away during FixedLatency; not forwarded.
	Abandoned int64
}

// Request is one request the proxy received, recorded after Record.
type Request struct {
	Start time.Time // when the proxy received it
	End   time.Time // when the proxy answered it or gave it up; zero while in flight
	// Action is the query API's Action form field (IAM and STS: "CreateRole",
	// "GetCallerIdentity"); RoleName its RoleName field. Empty when absent.
	Action, RoleName string
	// Status is the HTTP status sent to the client; 0 when no status was
	// sent (connection dropped, client gone).
	Status int
	// Forwarded: the target saw the request (IAM may have done it).
	Forwarded bool
	// Abandoned: the client went away before it was answered.
	Abandoned bool
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
	fixed    atomic.Int64 // FixedLatency in nanoseconds
	// The requests seen since Record, when recording.
	recordMu  sync.Mutex
	recording bool
	records   []Request
}

// Start proxies to target (moto's endpoint) with faults drawn from seed.
func Start(target string, seed int64, rates Rates) (*Proxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: u, rates: rates, rng: rand.New(rand.NewSource(seed))}
	p.fixed.Store(int64(rates.FixedLatency))
	p.server = httptest.NewServer(http.HandlerFunc(p.serve))
	p.URL = p.server.URL
	return p, nil
}

// Close stops the proxy.
func (p *Proxy) Close() { p.server.Close() }

// Disable turns faults off (the proxy then forwards everything).
func (p *Proxy) Disable() { p.off.Store(true) }

// SetFixedLatency changes Rates.FixedLatency for the requests that arrive
// from now on.
func (p *Proxy) SetFixedLatency(d time.Duration) { p.fixed.Store(int64(d)) }

// Record starts recording every request (Requests); off by default, so
// long benchmarks keep no list.
func (p *Proxy) Record() {
	p.recordMu.Lock()
	p.recording = true
	p.recordMu.Unlock()
}

// Requests returns a copy of the requests recorded so far, in the order
// they arrived; those still in flight have a zero End.
func (p *Proxy) Requests() []Request {
	p.recordMu.Lock()
	defer p.recordMu.Unlock()
	return append([]Request(nil), p.records...)
}

// begin records a request's arrival; it returns its index, or -1 when not recording.
func (p *Proxy) begin(at time.Time, body []byte) int {
	p.recordMu.Lock()
	defer p.recordMu.Unlock()
	if !p.recording {
		return -1
	}
	form, _ := url.ParseQuery(string(body))
	p.records = append(p.records, Request{Start: at, Action: form.Get("Action"), RoleName: form.Get("RoleName")})
	return len(p.records) - 1
}

// finish records how request i ended (no-op when i is -1).
func (p *Proxy) finish(i int, status int, forwarded, abandoned bool) {
	if i < 0 {
		return
	}
	p.recordMu.Lock()
	defer p.recordMu.Unlock()
	r := &p.records[i]
	r.End, r.Status, r.Forwarded, r.Abandoned = time.Now(), status, forwarded, abandoned
}

// Counts returns a snapshot of what was injected so far.
func (p *Proxy) Counts() Counts {
	return Counts{
		Requests: atomic.LoadInt64(&p.counts.Requests), Forwarded: atomic.LoadInt64(&p.counts.Forwarded),
		Throttled: atomic.LoadInt64(&p.counts.Throttled), ServerErrors: atomic.LoadInt64(&p.counts.ServerErrors),
		DroppedBefore: atomic.LoadInt64(&p.counts.DroppedBefore), DroppedAfter: atomic.LoadInt64(&p.counts.DroppedAfter),
		Delayed: atomic.LoadInt64(&p.counts.Delayed), Abandoned: atomic.LoadInt64(&p.counts.Abandoned),
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
	arrived := time.Now()
	atomic.AddInt64(&p.counts.Requests, 1)
	body, _ := io.ReadAll(r.Body)
	entry := p.begin(arrived, body)
	// What the client got, for the record.
	status, forwarded, abandoned := 0, false, false
	defer func() { p.finish(entry, status, forwarded, abandoned) }()
	target := p.target
	accounts := p.accounts.Load()
	var account, service string
	admitted := time.Now()
	if accounts != nil {
		account, service = accounts.identify(r)
		if !accounts.admit(account, service, admitted) {
			atomic.AddInt64(&p.counts.Throttled, 1)
			status = http.StatusBadRequest
			writeIAMError(w, status, "Sender", "Throttling", "Rate exceeded")
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
		status = http.StatusBadRequest
		writeIAMError(w, status, "Sender", "Throttling", "Rate exceeded")
		return
	case serverError:
		atomic.AddInt64(&p.counts.ServerErrors, 1)
		if is503 {
			status = http.StatusServiceUnavailable
			writeIAMError(w, status, "Receiver", "ServiceUnavailable", "Service is unavailable")
		} else {
			status = http.StatusInternalServerError
			writeIAMError(w, status, "Receiver", "ServiceFailure", "Internal failure")
		}
		return
	case dropBefore:
		atomic.AddInt64(&p.counts.DroppedBefore, 1)
		hijackAndClose(w, nil)
		return
	}
	if d := time.Duration(p.fixed.Load()); d > 0 {
		timer := time.NewTimer(d)
		select {
		case <-timer.C:
		case <-r.Context().Done():
			// The client gave up (or was killed) while waiting: IAM never sees it.
			timer.Stop()
			atomic.AddInt64(&p.counts.Abandoned, 1)
			abandoned = true
			return
		}
	}

	rec := httptest.NewRecorder()
	proxy := httputil.NewSingleHostReverseProxy(target)
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.Host = target.Host
	t0 := time.Now()
	proxy.ServeHTTP(rec, r)
	forwarded, abandoned = true, r.Context().Err() != nil
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
	status = rec.Code
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
