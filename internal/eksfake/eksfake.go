// Package eksfake is a loopback EKS server for tests. It implements exactly
// the EKS Pod Identity calls iambind makes, with the REST-JSON shapes of the
// service's published API model (as encoded by aws-sdk-go-v2 service/eks):
//
//	POST   /clusters/{name}/pod-identity-associations        CreatePodIdentityAssociation
//	GET    /clusters/{name}/pod-identity-associations        ListPodIdentityAssociations (maxResults, nextToken, namespace, serviceAccount)
//	GET    /clusters/{name}/pod-identity-associations/{id}   DescribePodIdentityAssociation
//	POST   /clusters/{name}/pod-identity-associations/{id}   UpdatePodIdentityAssociation
//	DELETE /clusters/{name}/pod-identity-associations/{id}   DeletePodIdentityAssociation
//	POST   /tags/{resourceArn}                               TagResource
//
// An association with a targetRoleArn gets an externalId (the value the
// target role's trust requires as sts:ExternalId), made when the target is
// first set and kept while it stays; a session policy needs
// disableSessionTags: true, as the model's documentation says.
//
// Errors carry the x-amzn-ErrorType header and a JSON message, as the model
// says: ResourceNotFoundException (404), ResourceInUseException (409),
// InvalidParameterException (400), and for tagging NotFoundException (404)
// and BadRequestException (400). No emulator implements this API (moto
// 5.2.1 has none), so iambind's EKS side is tested against this server, not AWS.
package eksfake

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Page sizes of ListPodIdentityAssociations (the model's range for maxResults;
// without it the service returns up to 100).
const (
	DefaultMaxResults = 100
	MaxMaxResults     = 200
)

// Association is one Pod Identity association as the server holds it.
type Association struct {
	ClusterName, Namespace, ServiceAccount, RoleARN string
	ID, ARN                                         string
	Tags                                            map[string]string
	DisableSessionTags                              bool
	TargetRoleARN, Policy, ExternalID               string
	CreatedAt, ModifiedAt                           time.Time
	token                                           string // clientRequestToken of the create
}

// Server is the fake EKS service for one account and region.
type Server struct {
	Account, Region string
	// URL is set by Start: http://127.0.0.1:PORT.
	URL string

	mu       sync.Mutex
	clusters map[string]map[string]*Association // cluster name -> association id -> association
	seq      int
	calls    map[string]int
}

// New returns a server with the given EKS clusters; serve it with ServeHTTP.
func New(account, region string, clusters ...string) *Server {
	s := &Server{Account: account, Region: region, clusters: map[string]map[string]*Association{}, calls: map[string]int{}}
	for _, c := range clusters {
		s.AddCluster(c)
	}
	return s
}

// Start serves a new server on a loopback port until the test ends.
func Start(t testing.TB, account, region string, clusters ...string) *Server {
	t.Helper()
	s := New(account, region, clusters...)
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	s.URL = hs.URL
	return s
}

// AddCluster makes an EKS cluster exist.
func (s *Server) AddCluster(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clusters[name] == nil {
		s.clusters[name] = map[string]*Association{}
	}
}

// Associations returns a copy of a cluster's associations, sorted by namespace and ServiceAccount.
func (s *Server) Associations(cluster string) []Association {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Association
	for _, a := range s.clusters[cluster] {
		c := *a
		c.Tags = maps.Clone(a.Tags)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Association) int {
		return strings.Compare(a.Namespace+"/"+a.ServiceAccount, b.Namespace+"/"+b.ServiceAccount)
	})
	return out
}

// Calls returns how many times each operation was called.
func (s *Server) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.calls)
}

var (
	pathAssociations = regexp.MustCompile(`^/clusters/([^/]+)/pod-identity-associations$`)
	pathAssociation  = regexp.MustCompile(`^/clusters/([^/]+)/pod-identity-associations/([^/]+)$`)
	pathTags         = regexp.MustCompile(`^/tags/(.+)$`)
	roleARNPattern   = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\x21-\x7E]+$`)
	// Kubernetes names: a namespace is a DNS-1123 label, a ServiceAccount a subdomain.
	dnsLabel     = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dnsSubdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
)

// apiError is an error response of the model.
type apiError struct {
	status int
	code   string
	msg    string
}

func notFound(format string, args ...any) *apiError {
	return &apiError{http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf(format, args...)}
}

func invalid(format string, args ...any) *apiError {
	return &apiError{http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf(format, args...)}
}

// ServeHTTP routes one request. Paths are matched on the escaped form, so a
// label holding "/" (a tag resource ARN) stays one segment.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	var (
		op   string
		body any
		err  *apiError
	)
	switch m := pathAssociations.FindStringSubmatch(path); {
	case m != nil && r.Method == http.MethodPost:
		op = "CreatePodIdentityAssociation"
		body, err = s.create(unescape(m[1]), r)
	case m != nil && r.Method == http.MethodGet:
		op = "ListPodIdentityAssociations"
		body, err = s.list(unescape(m[1]), r.URL.Query())
	default:
		if m := pathAssociation.FindStringSubmatch(path); m != nil {
			cluster, id := unescape(m[1]), unescape(m[2])
			switch r.Method {
			case http.MethodGet:
				op = "DescribePodIdentityAssociation"
				body, err = s.describe(cluster, id)
			case http.MethodPost:
				op = "UpdatePodIdentityAssociation"
				body, err = s.update(cluster, id, r)
			case http.MethodDelete:
				op = "DeletePodIdentityAssociation"
				body, err = s.delete(cluster, id)
			}
		} else if m := pathTags.FindStringSubmatch(path); m != nil && r.Method == http.MethodPost {
			op = "TagResource"
			body, err = s.tag(unescape(m[1]), r)
		}
	}
	if op == "" {
		err = &apiError{http.StatusNotFound, "UnknownOperationException", fmt.Sprintf("%s %s is not an operation this server implements", r.Method, path)}
	} else {
		s.mu.Lock()
		s.calls[op]++
		s.mu.Unlock()
	}
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.Header().Set("X-Amzn-ErrorType", err.code)
		w.WriteHeader(err.status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": err.msg})
		return
	}
	_ = json.NewEncoder(w).Encode(body)
}

func unescape(s string) string {
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// createRequest is the body of CreatePodIdentityAssociation (the cluster name is in the path).
type createRequest struct {
	Namespace          *string           `json:"namespace"`
	ServiceAccount     *string           `json:"serviceAccount"`
	RoleARN            *string           `json:"roleArn"`
	ClientRequestToken string            `json:"clientRequestToken"`
	Tags               map[string]string `json:"tags"`
	DisableSessionTags *bool             `json:"disableSessionTags"`
	TargetRoleARN      *string           `json:"targetRoleArn"`
	Policy             *string           `json:"policy"`
}

func decodeBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return invalid("reading the request body: %v", err)
	}
	if len(data) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("the request body is not valid for this operation: %v", err)
	}
	return nil
}

func (s *Server) create(cluster string, r *http.Request) (any, *apiError) {
	var req createRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	for name, v := range map[string]*string{"namespace": req.Namespace, "serviceAccount": req.ServiceAccount, "roleArn": req.RoleARN} {
		if v == nil || *v == "" {
			return nil, invalid("%s is required", name)
		}
	}
	if aerr := checkNames(*req.Namespace, *req.ServiceAccount); aerr != nil {
		return nil, aerr
	}
	if !roleARNPattern.MatchString(*req.RoleARN) {
		return nil, invalid("roleArn %q is not an IAM role ARN", *req.RoleARN)
	}
	if err := checkTags(req.Tags); err != nil {
		return nil, err
	}
	if err := checkChaining(req.TargetRoleARN, req.Policy, req.DisableSessionTags != nil && *req.DisableSessionTags); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assocs, ok := s.clusters[cluster]
	if !ok {
		return nil, notFound("No cluster found for name: %s.", cluster)
	}
	for _, a := range assocs {
		if a.Namespace != *req.Namespace || a.ServiceAccount != *req.ServiceAccount {
			continue
		}
		// A retried request (same idempotency token, same parameters) gets the
		// association it made; anything else collides.
		if req.ClientRequestToken != "" && req.ClientRequestToken == a.token && a.RoleARN == *req.RoleARN {
			return map[string]any{"association": a.wire()}, nil
		}
		return nil, &apiError{http.StatusConflict, "ResourceInUseException", "Association already exists: " + a.ID}
	}
	s.seq++
	now := time.Now().UTC()
	id := associationID(s.Account, cluster, s.seq)
	a := &Association{
		ClusterName: cluster, Namespace: *req.Namespace, ServiceAccount: *req.ServiceAccount, RoleARN: *req.RoleARN,
		ID: id, ARN: fmt.Sprintf("arn:aws:eks:%s:%s:podidentityassociation/%s/%s", s.Region, s.Account, cluster, id),
		Tags: maps.Clone(req.Tags), CreatedAt: now, ModifiedAt: now, token: req.ClientRequestToken,
	}
	if req.DisableSessionTags != nil {
		a.DisableSessionTags = *req.DisableSessionTags
	}
	if req.Policy != nil {
		a.Policy = *req.Policy
	}
	if req.TargetRoleARN != nil && *req.TargetRoleARN != "" {
		a.TargetRoleARN, a.ExternalID = *req.TargetRoleARN, externalID(s.Account, cluster, s.seq)
	}
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	assocs[id] = a
	return map[string]any{"association": a.wire()}, nil
}

// associationID is "a-" and 17 lower-case letters and digits, as EKS's are.
func associationID(account, cluster string, seq int) string {
	sum := sha256.Sum256([]byte(account + "/" + cluster + "/" + strconv.Itoa(seq)))
	return "a-" + hex.EncodeToString(sum[:])[:17]
}

// externalID is a UUID-shaped identifier, unique per association.
func externalID(account, cluster string, seq int) string {
	sum := sha256.Sum256([]byte("external/" + account + "/" + cluster + "/" + strconv.Itoa(seq) + "/" + strconv.FormatInt(time.Now().UnixNano(), 10)))
	h := hex.EncodeToString(sum[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// checkChaining checks targetRoleArn and policy: a role ARN, and a JSON
// object policy only with session tags off.
func checkChaining(target, policy *string, tagsOff bool) *apiError {
	if target != nil && *target != "" && !roleARNPattern.MatchString(*target) {
		return invalid("targetRoleArn %q is not an IAM role ARN", *target)
	}
	if policy != nil && *policy != "" {
		if !tagsOff {
			return invalid("disableSessionTags must be true when a policy is given")
		}
		var doc map[string]any
		if json.Unmarshal([]byte(*policy), &doc) != nil {
			return invalid("policy is not a JSON policy document")
		}
	}
	return nil
}

func checkNames(ns, sa string) *apiError {
	if len(ns) > 63 || !dnsLabel.MatchString(ns) {
		return invalid("namespace %q is not a valid Kubernetes namespace name", ns)
	}
	if len(sa) > 253 || !dnsSubdomain.MatchString(sa) {
		return invalid("serviceAccount %q is not a valid Kubernetes ServiceAccount name", sa)
	}
	return nil
}

// checkTags applies EKS's tag rules: at most 50, keys 1-128, values ≤ 256, no aws: prefix.
func checkTags(tags map[string]string) *apiError {
	if len(tags) > 50 {
		return invalid("at most 50 tags are allowed, got %d", len(tags))
	}
	for k, v := range tags {
		if k == "" || len(k) > 128 || len(v) > 256 || strings.HasPrefix(strings.ToLower(k), "aws:") {
			return invalid("tag %q=%q breaks the tag rules (key 1-128 characters, not aws:, value at most 256)", k, v)
		}
	}
	return nil
}

func (s *Server) list(cluster string, q url.Values) (any, *apiError) {
	max := DefaultMaxResults
	if v := q.Get("maxResults"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxMaxResults {
			return nil, invalid("maxResults must be an integer from 1 to %d, got %q", MaxMaxResults, v)
		}
		max = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	assocs, ok := s.clusters[cluster]
	if !ok {
		return nil, notFound("No cluster found for name: %s.", cluster)
	}
	var matching []*Association
	for _, a := range assocs {
		if ns := q.Get("namespace"); ns != "" && a.Namespace != ns {
			continue
		}
		if sa := q.Get("serviceAccount"); sa != "" && a.ServiceAccount != sa {
			continue
		}
		matching = append(matching, a)
	}
	// Pages in id order; the token is the last id returned (opaque to clients).
	slices.SortFunc(matching, func(a, b *Association) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if tok := q.Get("nextToken"); tok != "" {
		after, ok := decodeToken(tok, cluster)
		if !ok {
			return nil, invalid("The nextToken %q is not valid.", tok)
		}
		for start < len(matching) && matching[start].ID <= after {
			start++
		}
	}
	end := min(start+max, len(matching))
	summaries := []map[string]any{}
	for _, a := range matching[start:end] {
		summaries = append(summaries, map[string]any{
			"clusterName": a.ClusterName, "namespace": a.Namespace, "serviceAccount": a.ServiceAccount,
			"associationArn": a.ARN, "associationId": a.ID,
		})
	}
	out := map[string]any{"associations": summaries}
	if end < len(matching) {
		out["nextToken"] = encodeToken(cluster, matching[end-1].ID)
	}
	return out, nil
}

func encodeToken(cluster, lastID string) string {
	return hex.EncodeToString([]byte(cluster + "\x00" + lastID))
}

func decodeToken(tok, cluster string) (string, bool) {
	raw, err := hex.DecodeString(tok)
	if err != nil {
		return "", false
	}
	c, id, ok := strings.Cut(string(raw), "\x00")
	return id, ok && c == cluster
}

func (s *Server) find(cluster, id string) (*Association, *apiError) {
	assocs, ok := s.clusters[cluster]
	if !ok {
		return nil, notFound("No cluster found for name: %s.", cluster)
	}
	a, ok := assocs[id]
	if !ok {
		return nil, notFound("No Pod Identity Association found for id: %s.", id)
	}
	return a, nil
}

func (s *Server) describe(cluster, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.find(cluster, id)
	if err != nil {
		return nil, err
	}
	return map[string]any{"association": a.wire()}, nil
}

type updateRequest struct {
	RoleARN            *string `json:"roleArn"`
	ClientRequestToken string  `json:"clientRequestToken"`
	DisableSessionTags *bool   `json:"disableSessionTags"`
	TargetRoleARN      *string `json:"targetRoleArn"`
	Policy             *string `json:"policy"`
}

func (s *Server) update(cluster, id string, r *http.Request) (any, *apiError) {
	var req updateRequest
	if err := decodeBody(r, &req); err != nil {
		return nil, err
	}
	if req.RoleARN != nil && !roleARNPattern.MatchString(*req.RoleARN) {
		return nil, invalid("roleArn %q is not an IAM role ARN", *req.RoleARN)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.find(cluster, id)
	if err != nil {
		return nil, err
	}
	tagsOff := a.DisableSessionTags
	if req.DisableSessionTags != nil {
		tagsOff = *req.DisableSessionTags
	}
	policy := &a.Policy
	if req.Policy != nil {
		policy = req.Policy
	}
	if err := checkChaining(req.TargetRoleARN, policy, tagsOff); err != nil {
		return nil, err
	}
	if req.RoleARN != nil {
		a.RoleARN = *req.RoleARN
	}
	a.DisableSessionTags, a.Policy = tagsOff, *policy
	if req.TargetRoleARN != nil {
		switch {
		case *req.TargetRoleARN == "": // removes the target, and its externalId
			a.TargetRoleARN, a.ExternalID = "", ""
		case a.ExternalID == "":
			s.seq++
			a.TargetRoleARN, a.ExternalID = *req.TargetRoleARN, externalID(s.Account, cluster, s.seq)
		default:
			a.TargetRoleARN = *req.TargetRoleARN
		}
	}
	a.ModifiedAt = time.Now().UTC()
	return map[string]any{"association": a.wire()}, nil
}

func (s *Server) delete(cluster, id string) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.find(cluster, id)
	if err != nil {
		return nil, err
	}
	delete(s.clusters[cluster], id)
	return map[string]any{"association": a.wire()}, nil
}

func (s *Server) tag(resourceARN string, r *http.Request) (any, *apiError) {
	var req struct {
		Tags map[string]string `json:"tags"`
	}
	if err := decodeBody(r, &req); err != nil {
		return nil, &apiError{http.StatusBadRequest, "BadRequestException", err.msg}
	}
	if len(req.Tags) == 0 {
		return nil, &apiError{http.StatusBadRequest, "BadRequestException", "tags is required"}
	}
	if err := checkTags(req.Tags); err != nil {
		return nil, &apiError{http.StatusBadRequest, "BadRequestException", err.msg}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, assocs := range s.clusters {
		for _, a := range assocs {
			if a.ARN == resourceARN {
				maps.Copy(a.Tags, req.Tags)
				return map[string]any{}, nil
			}
		}
	}
	return nil, &apiError{http.StatusNotFound, "NotFoundException", "No resource found for ARN: " + resourceARN}
}

// wire is the PodIdentityAssociation structure of the model; timestamps are
// epoch seconds, REST-JSON's default.
func (a *Association) wire() map[string]any {
	out := map[string]any{
		"clusterName": a.ClusterName, "namespace": a.Namespace, "serviceAccount": a.ServiceAccount,
		"roleArn": a.RoleARN, "associationArn": a.ARN, "associationId": a.ID,
		"tags": a.Tags, "disableSessionTags": a.DisableSessionTags,
		"createdAt":  float64(a.CreatedAt.UnixMilli()) / 1000,
		"modifiedAt": float64(a.ModifiedAt.UnixMilli()) / 1000,
	}
	for k, v := range map[string]string{"targetRoleArn": a.TargetRoleARN, "policy": a.Policy, "externalId": a.ExternalID} {
		if v != "" {
			out[k] = v
		}
	}
	return out
}
