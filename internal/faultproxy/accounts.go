package faultproxy

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Accounts makes the proxy behave like IAM across several accounts: each
// account's IAM requests pass a token bucket of its own (Rate per second,
// Burst deep) and are answered Throttling when it is empty, as IAM's
// per-account control-plane limit does; optionally each account is served
// by a backend of its own (one moto per account spreads the emulator's load).
//
// The account of a request is that of its SigV4 access key: keys returned by
// sts:AssumeRole responses passing through the proxy map to the account of
// the assumed role (moto's credentials then act in that account); any other
// key is DefaultAccount's.
type Accounts struct {
	Rate           float64           // IAM requests per second per account; 0: no limit
	Burst          int               // bucket depth; default max(1, Rate)
	DefaultAccount string            // account of keys not learned from AssumeRole
	Backends       map[string]string // account → endpoint; others go to the proxy's target
}

// AccountCount is what the proxy saw of one account's IAM requests.
type AccountCount struct {
	Requests, Throttled int64
}

type accountState struct {
	mu       sync.Mutex
	cfg      Accounts
	keys     map[string]string // access key id → account
	buckets  map[string]*rate.Limiter
	counts   map[string]*AccountCount
	seconds  map[string]map[int64]*SecondCount // account → unix second → count
	backends map[string]*url.URL
}

// SecondCount is what the proxy saw of one account's IAM requests in one
// wall-clock second: a benchmark's timeline of its pace.
type SecondCount struct {
	Unix                int64
	Admitted, Throttled int64
	// Latency is the summed time the backend took to answer the admitted
	// requests (their mean: Latency / Admitted).
	Latency time.Duration
}

// SetAccounts switches per-account behaviour on (call before traffic).
func (p *Proxy) SetAccounts(a Accounts) error {
	s := &accountState{cfg: a, keys: map[string]string{}, buckets: map[string]*rate.Limiter{},
		counts: map[string]*AccountCount{}, seconds: map[string]map[int64]*SecondCount{}, backends: map[string]*url.URL{}}
	if s.cfg.Burst <= 0 {
		s.cfg.Burst = max(1, int(a.Rate))
	}
	for acct, ep := range a.Backends {
		u, err := url.Parse(ep)
		if err != nil {
			return err
		}
		s.backends[acct] = u
	}
	p.accounts.Store(s)
	return nil
}

// AccountCounts returns, per account, its IAM requests and how many were throttled.
func (p *Proxy) AccountCounts() map[string]AccountCount {
	s := p.accounts.Load()
	out := map[string]AccountCount{}
	if s == nil {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.counts {
		out[k] = *v
	}
	return out
}

// AccountSeconds returns an account's IAM requests per wall-clock second,
// in time order (seconds without requests left out).
func (p *Proxy) AccountSeconds(account string) []SecondCount {
	s := p.accounts.Load()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SecondCount
	for _, c := range s.seconds[account] {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Unix < out[j].Unix })
	return out
}

// credentialRE reads the access key and service of a SigV4 Authorization header.
var credentialRE = regexp.MustCompile(`Credential=([^/,\s]+)/[^/]+/[^/]+/([^/]+)/aws4_request`)

// identify returns a request's account and signing service.
func (s *accountState) identify(r *http.Request) (account, service string) {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	s.mu.Lock()
	defer s.mu.Unlock()
	if m == nil {
		return s.cfg.DefaultAccount, ""
	}
	if a, ok := s.keys[m[1]]; ok {
		return a, m[2]
	}
	return s.cfg.DefaultAccount, m[2]
}

// admit takes a token from the account's bucket for an IAM request; false
// means the request is to be answered Throttling.
func (s *accountState) admit(account, service string, at time.Time) bool {
	if service != "iam" {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts[account]
	if c == nil {
		c = &AccountCount{}
		s.counts[account] = c
	}
	c.Requests++
	now := at.Unix()
	if s.seconds[account] == nil {
		s.seconds[account] = map[int64]*SecondCount{}
	}
	sc := s.seconds[account][now]
	if sc == nil {
		sc = &SecondCount{Unix: now}
		s.seconds[account][now] = sc
	}
	if s.cfg.Rate <= 0 {
		sc.Admitted++
		return true
	}
	b := s.buckets[account]
	if b == nil {
		b = rate.NewLimiter(rate.Limit(s.cfg.Rate), s.cfg.Burst)
		s.buckets[account] = b
	}
	if b.Allow() {
		sc.Admitted++
		return true
	}
	c.Throttled++
	sc.Throttled++
	return false
}

// took records the backend's answer time of an admitted IAM request.
func (s *accountState) took(account, service string, at time.Time, d time.Duration) {
	if service != "iam" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc := s.seconds[account][at.Unix()]; sc != nil {
		sc.Latency += d
	}
}

func (s *accountState) backend(account string) *url.URL {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backends[account]
}

var (
	assumedKeyRE = regexp.MustCompile(`<AccessKeyId>([^<]+)</AccessKeyId>`)
	assumedARNRE = regexp.MustCompile(`<Arn>arn:[^:]+:sts::([0-9]{12}):assumed-role/`)
)

// learn maps the access key of an AssumeRole response to its account.
func (s *accountState) learn(body []byte) {
	k, a := assumedKeyRE.FindSubmatch(body), assumedARNRE.FindSubmatch(body)
	if k == nil || a == nil {
		return
	}
	s.mu.Lock()
	s.keys[string(k[1])] = string(a[1])
	s.mu.Unlock()
}
