// A discovery plan ConfigMap: one self-hosted issuer to publish on S3 (the
// reconcile/discovery service publishes it).

package input

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/iambind/iambind/generator"
)

// DiscoveryPlan is one cluster's discovery plan: what to publish where.
type DiscoveryPlan struct {
	Cluster     string
	Owner       string
	Issuer      string
	ProviderARN string
	Partition   string
	AccountID   string
	Audiences   []string
	Bucket      string
	Region      string
	Prefix      string
	Config      []byte // openid-configuration.json, published as is
	JWKS        []byte // keys.json, published as is
	// Source names where the plan came from: "<file>: ConfigMap <ns>/<name>".
	Source string
}

// Objects are the S3 keys and bodies of the plan.
func (d *DiscoveryPlan) Objects() map[string][]byte {
	cfg, jwks := generator.DiscoveryObjectKeys(d.Prefix)
	return map[string][]byte{cfg: d.Config, jwks: d.JWKS}
}

var (
	providerARNRE = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::([0-9]{12}):oidc-provider/(.+)$`)
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
)

// ParseDiscoveryPlan reads a discovery plan ConfigMap's annotations and data. It
// checks everything apply relies on, since a hand-edited (or hostile) plan
// decides which keys an IAM OIDC provider trusts.
func ParseDiscoveryPlan(source string, annotations, data map[string]string) (*DiscoveryPlan, error) {
	fail := func(format string, args ...any) (*DiscoveryPlan, error) {
		return nil, fmt.Errorf("%s: %s", source, fmt.Sprintf(format, args...))
	}
	need := func(key string) string { return annotations[key] }
	d := &DiscoveryPlan{
		Cluster: need(generator.AnnotationCluster), Owner: need(generator.AnnotationOwner),
		Issuer: need(generator.AnnotationIssuer), ProviderARN: need(generator.AnnotationOIDCProviderARN),
		Bucket: need(generator.AnnotationS3Bucket), Region: need(generator.AnnotationS3Region),
		Prefix: annotations[generator.AnnotationS3Prefix], Source: source,
	}
	for _, k := range []string{generator.AnnotationCluster, generator.AnnotationOwner, generator.AnnotationIssuer,
		generator.AnnotationOIDCProviderARN, generator.AnnotationAudiences, generator.AnnotationS3Bucket, generator.AnnotationS3Region} {
		if annotations[k] == "" {
			return fail("discovery plan has no %s annotation (re-render it with iambind-fn)", k)
		}
	}
	if p := generator.BucketNameProblem(d.Bucket); p != "" {
		return fail("annotation %s: %s", generator.AnnotationS3Bucket, p)
	}
	if !regionRE.MatchString(d.Region) {
		return fail("annotation %s: %q is not an AWS region name", generator.AnnotationS3Region, d.Region)
	}
	if p := generator.S3PrefixProblem(d.Prefix); p != "" {
		return fail("annotation %s: %s", generator.AnnotationS3Prefix, p)
	}
	if !strings.HasPrefix(d.Issuer, "https://") || strings.HasSuffix(d.Issuer, "/") || strings.ContainsAny(d.Issuer, " \t\n\"\\?#") {
		return fail("annotation %s: %q is not an https issuer URL without a trailing '/'", generator.AnnotationIssuer, d.Issuer)
	}
	m := providerARNRE.FindStringSubmatch(d.ProviderARN)
	if m == nil || m[3] != strings.TrimPrefix(d.Issuer, "https://") {
		return fail("annotation %s: %q is not the OIDC provider ARN of issuer %s", generator.AnnotationOIDCProviderARN, d.ProviderARN, d.Issuer)
	}
	d.Partition, d.AccountID = m[1], m[2]
	for _, a := range strings.Split(annotations[generator.AnnotationAudiences], ",") {
		if a == "" || strings.ContainsAny(a, " \t\n\"\\") {
			return fail("annotation %s: %q is not a comma-separated list of audiences", generator.AnnotationAudiences, annotations[generator.AnnotationAudiences])
		}
		d.Audiences = append(d.Audiences, a)
	}
	slices.Sort(d.Audiences)
	d.Audiences = slices.Compact(d.Audiences)

	cfg, ok := data[generator.PlanKeyOpenIDConfig]
	if !ok {
		return fail("discovery plan has no data.%s", generator.PlanKeyOpenIDConfig)
	}
	var doc generator.OpenIDConfiguration
	if err := strictJSON(cfg, &doc); err != nil {
		return fail("data.%s: %v", generator.PlanKeyOpenIDConfig, err)
	}
	if doc.Issuer != d.Issuer {
		return fail("data.%s: issuer %q differs from annotation %s %q", generator.PlanKeyOpenIDConfig, doc.Issuer, generator.AnnotationIssuer, d.Issuer)
	}
	if doc.JWKSURI != d.Issuer+"/"+generator.JWKSPath {
		return fail("data.%s: jwks_uri %q must be %s/%s, where the JWKS is published", generator.PlanKeyOpenIDConfig, doc.JWKSURI, d.Issuer, generator.JWKSPath)
	}
	jwks, ok := data[generator.PlanKeyJWKS]
	if !ok {
		return fail("discovery plan has no data.%s", generator.PlanKeyJWKS)
	}
	algs, err := checkJWKS(jwks)
	if err != nil {
		return fail("data.%s: %v", generator.PlanKeyJWKS, err)
	}
	if !slices.Equal(algs, doc.SigningAlgs) {
		return fail("data.%s: id_token_signing_alg_values_supported %v differs from the keys' algorithms %v", generator.PlanKeyOpenIDConfig, doc.SigningAlgs, algs)
	}
	d.Config, d.JWKS = []byte(cfg), []byte(jwks)
	return d, nil
}

func strictJSON(text string, out any) error {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return err
	}
	if dec.More() {
		return fmt.Errorf("unexpected data after the JSON object")
	}
	return nil
}

// checkJWKS requires public signing keys whose kids are the ones
// kube-apiserver computes, and returns their algorithms, sorted and unique.
func checkJWKS(text string) ([]string, error) {
	// Private members first: go-jose would otherwise parse a private key
	// (and say something less clear when it is incomplete).
	var raw struct{ Keys []map[string]json.RawMessage }
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, err
	}
	for i, k := range raw.Keys {
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "k", "oth"} {
			if _, ok := k[member]; ok {
				return nil, fmt.Errorf("key %d holds private key material (member %q): only public keys may be published", i, member)
			}
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal([]byte(text), &set); err != nil {
		return nil, err
	}
	if len(set.Keys) == 0 {
		return nil, fmt.Errorf("holds no key")
	}
	var algs []string
	for i, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			return nil, fmt.Errorf("key %d is not a valid public key", i)
		}
		alg, err := generator.SigningAlgorithm(k.Key)
		if err != nil {
			return nil, fmt.Errorf("key %d %v", i, err)
		}
		kid, _ := generator.KeyID(k.Key)
		if k.KeyID != kid || k.Algorithm != alg || k.Use != "sig" {
			return nil, fmt.Errorf("key %d: kid, alg or use differ from what kube-apiserver uses for it (kid %s, alg %s, use sig); re-render the plan", i, kid, alg)
		}
		algs = append(algs, alg)
	}
	slices.Sort(algs)
	return slices.Compact(algs), nil
}

// samePlan reports whether two plans of one cluster are identical.
func sameDiscoveryPlan(a, b *DiscoveryPlan) bool {
	return a.Cluster == b.Cluster && a.Owner == b.Owner && a.Issuer == b.Issuer && a.ProviderARN == b.ProviderARN &&
		slices.Equal(a.Audiences, b.Audiences) && a.Bucket == b.Bucket && a.Region == b.Region && a.Prefix == b.Prefix &&
		bytes.Equal(a.Config, b.Config) && bytes.Equal(a.JWKS, b.JWKS)
}

// Collect adds a plan to plans (sorted by issuer), keeping one copy of a
// plan given twice (the same rendered output read from two paths) and
// refusing two different plans for one issuer.
func CollectDiscovery(plans []*DiscoveryPlan, d *DiscoveryPlan) ([]*DiscoveryPlan, error) {
	for _, p := range plans {
		if p.Issuer == d.Issuer {
			if sameDiscoveryPlan(p, d) {
				return plans, nil
			}
			return nil, fmt.Errorf("issuer %s is planned twice with different discovery plans: %s and %s", d.Issuer, p.Source, d.Source)
		}
	}
	plans = append(plans, d)
	slices.SortFunc(plans, func(a, b *DiscoveryPlan) int { return strings.Compare(a.Issuer, b.Issuer) })
	return plans, nil
}
