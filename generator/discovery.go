package generator

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/kptdev/krm-functions-sdk/go/fn"
)

// The discovery plan: one ConfigMap per IdentityCluster with spec.discovery.
// The function writes it and `iambind plan|apply` reads it; the
// names below are shared by both sides.
const (
	PlanOIDCNamePrefix  = "iambind-oidc-"
	PlanKeyOpenIDConfig = "openid-configuration.json"
	PlanKeyJWKS         = "keys.json"

	// Annotations of the discovery plan: where to publish, for whom.
	AnnotationCluster         = "iambind.dev/cluster"
	AnnotationOwner           = "iambind.dev/owner"
	AnnotationIssuer          = "iambind.dev/issuer"
	AnnotationOIDCProviderARN = "iambind.dev/oidc-provider-arn"
	AnnotationAudiences       = "iambind.dev/audiences" // sorted, comma-separated
	AnnotationS3Bucket        = "iambind.dev/s3-bucket"
	AnnotationS3Region        = "iambind.dev/s3-region"
	AnnotationS3Prefix        = "iambind.dev/s3-prefix" // absent when there is no prefix

	// OpenIDConfigPath and JWKSPath are the object names under the prefix:
	// the path every OIDC client fetches, and jwks_uri's last segment.
	OpenIDConfigPath = ".well-known/openid-configuration"
	JWKSPath         = "keys.json"

	// MaxPublicKeys bounds spec.discovery.publicKeys: two are needed during
	// a rotation; more is almost certainly a mistake (every one can sign).
	MaxPublicKeys = 8
	// MinRSABits is the smallest RSA key accepted (IAM and NIST both
	// refuse shorter RS256 keys).
	MinRSABits = 2048
)

var (
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	prefixSegment     = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)
)

// DiscoveryObjectKeys are the S3 keys of the discovery document and JWKS.
func DiscoveryObjectKeys(prefix string) (config, jwks string) {
	if prefix == "" {
		return OpenIDConfigPath, JWKSPath
	}
	return prefix + "/" + OpenIDConfigPath, prefix + "/" + JWKSPath
}

// S3DNSSuffix is the DNS suffix of S3 endpoints in region: China regions
// are served from amazonaws.com.cn, every other (GovCloud included) from
// amazonaws.com.
func S3DNSSuffix(region string) string {
	if strings.HasPrefix(region, "cn-") {
		return "amazonaws.com.cn"
	}
	return "amazonaws.com"
}

// DeriveIssuer is the issuer of a bucket's virtual-hosted HTTPS URL:
// https://<bucket>.s3.<region>.<suffix>[/<prefix>].
func DeriveIssuer(bucket, region, prefix string) string {
	u := "https://" + bucket + ".s3." + region + "." + S3DNSSuffix(region)
	if prefix != "" {
		u += "/" + prefix
	}
	return u
}

// BucketNameProblem says why S3 refuses name as a general purpose bucket
// name, or "" when it is valid.
func BucketNameProblem(name string) string {
	switch {
	case len(name) < 3 || len(name) > 63:
		return fmt.Sprintf("%q is %d characters; S3 bucket names are 3 to 63", name, len(name))
	case !bucketNamePattern.MatchString(name):
		return fmt.Sprintf("%q is not a valid S3 bucket name (lower-case letters, digits, '.' and '-', starting and ending with a letter or digit)", name)
	case strings.Contains(name, ".."), strings.Contains(name, ".-"), strings.Contains(name, "-."):
		return fmt.Sprintf("%q is not a valid S3 bucket name: a '.' may not be next to another '.' or a '-'", name)
	case net.ParseIP(name) != nil:
		return fmt.Sprintf("%q is formatted as an IP address, which S3 refuses as a bucket name", name)
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return fmt.Sprintf("%q starts with %q, which S3 reserves", name, p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return fmt.Sprintf("%q ends with %q, which S3 reserves", name, s)
		}
	}
	return ""
}

// S3PrefixProblem says why prefix cannot be a discovery key prefix (and so
// the path of an issuer URL), or "" when it is fine.
func S3PrefixProblem(prefix string) string {
	if prefix == "" {
		return ""
	}
	switch {
	case strings.HasPrefix(prefix, "/") || strings.HasSuffix(prefix, "/"):
		return fmt.Sprintf("%q must not start or end with '/' (write clusters/lab, not /clusters/lab/)", prefix)
	case len(prefix) > 200:
		return fmt.Sprintf("is %d characters; keep it to 200", len(prefix))
	}
	for _, seg := range strings.Split(prefix, "/") {
		switch {
		case seg == "":
			return fmt.Sprintf("%q has an empty path segment ('//')", prefix)
		case seg == "." || seg == "..":
			return fmt.Sprintf("%q has a %q segment; the issuer URL must be a plain path", prefix, seg)
		case !prefixSegment.MatchString(seg):
			return fmt.Sprintf("%q may only hold letters, digits and . _ ~ - between '/' (it becomes the issuer URL's path)", prefix)
		}
	}
	return ""
}

// ParsePublicKeyPEM parses one PEM public key the way kube-apiserver's
// --service-account-key-file accepts it: PKIX, RSA or ECDSA P-256/384/521.
// The error never repeats the input, which may be a private key.
func ParsePublicKeyPEM(text string) (crypto.PublicKey, error) {
	if strings.Contains(text, "PRIVATE KEY") {
		return nil, fmt.Errorf("is a private key: only public keys belong here (and in Git); give kube-apiserver the private key as --service-account-signing-key-file and list its public half (iambind keygen writes both), then rotate this key, since it has been exposed")
	}
	block, rest := pem.Decode([]byte(strings.TrimSpace(text)))
	if block == nil {
		return nil, fmt.Errorf("is not a PEM block (expected -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----)")
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, fmt.Errorf("holds more than one PEM block or trailing text; list each key as its own item")
	}
	if block.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("is a PEM %q block; want a PKIX \"PUBLIC KEY\" (openssl pkey -pubout, or iambind keygen)", block.Type)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("is a malformed PUBLIC KEY block (its DER does not parse)")
	}
	if _, err := SigningAlgorithm(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// SigningAlgorithm is the JWS algorithm kube-apiserver signs with for a key
// (RS256 for RSA, ES256/384/512 by curve); other key types are refused, as
// kube-apiserver refuses them.
func SigningAlgorithm(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("is a %d-bit RSA key; use at least %d bits", k.N.BitLen(), MinRSABits)
		}
		return string(jose.RS256), nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return string(jose.ES256), nil
		case elliptic.P384():
			return string(jose.ES384), nil
		case elliptic.P521():
			return string(jose.ES512), nil
		}
		return "", fmt.Errorf("is an ECDSA key on curve %s; kube-apiserver signs only with P-256, P-384 or P-521", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return "", fmt.Errorf("is an Ed25519 key, which kube-apiserver cannot sign ServiceAccount tokens with; use RSA (2048+ bits) or ECDSA P-256/P-384/P-521")
	}
	return "", fmt.Errorf("is a %T key; kube-apiserver signs ServiceAccount tokens only with RSA or ECDSA keys", pub)
}

// KeyID is the kid kube-apiserver gives a signing key: the unpadded
// base64url SHA-256 of the key's PKIX DER encoding (keyIDFromPublicKey in
// kubernetes' pkg/serviceaccount/jwt.go), so its tokens name our JWK.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}

// OpenIDConfiguration is the discovery document, field for field what
// kube-apiserver serves for its own issuer.
type OpenIDConfiguration struct {
	Issuer        string   `json:"issuer"`
	JWKSURI       string   `json:"jwks_uri"`
	ResponseTypes []string `json:"response_types_supported"`
	SubjectTypes  []string `json:"subject_types_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

// DiscoveryDocuments renders the discovery document and the JWKS of an
// issuer: pretty JSON with a final newline, keys sorted by kid, byte-stable.
func DiscoveryDocuments(issuer string, keys []crypto.PublicKey) (config, jwks []byte, err error) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{}}
	var algs []string
	for _, k := range keys {
		alg, err := SigningAlgorithm(k)
		if err != nil {
			return nil, nil, err
		}
		kid, err := KeyID(k)
		if err != nil {
			return nil, nil, err
		}
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k, KeyID: kid, Algorithm: alg, Use: "sig"})
		algs = append(algs, alg)
	}
	slices.SortFunc(set.Keys, func(a, b jose.JSONWebKey) int { return strings.Compare(a.KeyID, b.KeyID) })
	slices.Sort(algs)
	doc := OpenIDConfiguration{
		Issuer: issuer, JWKSURI: issuer + "/" + JWKSPath,
		ResponseTypes: []string{"id_token"}, SubjectTypes: []string{"public"},
		SigningAlgs: slices.Compact(algs),
	}
	if config, err = MarshalJSON(doc, true); err != nil {
		return nil, nil, err
	}
	// go-jose writes each JWK's members in a fixed order; indenting its
	// output keeps that order and the bytes stable.
	raw, err := json.Marshal(set)
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return nil, nil, err
	}
	return append(config, '\n'), append(buf.Bytes(), '\n'), nil
}

// defaultAndValidateDiscovery checks spec.discovery, parses its keys and
// derives the issuer when spec.issuer is empty. It returns false when the
// cluster's discovery cannot be used.
func defaultAndValidateDiscovery(c *IdentityCluster, sink problemSink) bool {
	d, s := c.Spec.Discovery, &c.Spec
	ok := true
	bad := func(field, format string, args ...any) {
		sink.errorf(field, format, args...)
		ok = false
	}
	if d.S3 == nil {
		bad("spec.discovery.s3", "is required: the bucket (and region, prefix) the discovery document and JWKS are published to")
	} else {
		if d.S3.Region == "" {
			d.S3.Region = s.Region
		}
		if p := BucketNameProblem(d.S3.Bucket); p != "" {
			bad("spec.discovery.s3.bucket", "%s", p)
		} else if strings.Contains(d.S3.Bucket, ".") && s.Issuer == "" {
			// *.s3.<region>.amazonaws.com certificates cover one DNS label.
			bad("spec.discovery.s3.bucket", "%q holds dots: its virtual-hosted HTTPS URL (the derived issuer) would fail TLS verification; choose a bucket name without dots, or put a CDN in front of it and set spec.issuer", d.S3.Bucket)
		}
		switch {
		case d.S3.Region == "":
			bad("spec.discovery.s3.region", "is required (or set spec.region): the bucket's region is part of the issuer URL")
		case !regionPattern.MatchString(d.S3.Region):
			bad("spec.discovery.s3.region", "%q is not an AWS region name such as eu-west-1", d.S3.Region)
		default:
			if prefixes, known := partitionRegionPrefix[s.Partition]; known && !regionInPartition(d.S3.Region, s.Partition, prefixes) {
				bad("spec.discovery.s3.region", "region %q is not in partition %q", d.S3.Region, s.Partition)
			}
		}
		if p := S3PrefixProblem(d.S3.Prefix); p != "" {
			bad("spec.discovery.s3.prefix", "%s", p)
		}
	}
	switch {
	case len(d.PublicKeys) == 0:
		bad("spec.discovery.publicKeys", "is required: the PEM public key of every key kube-apiserver signs ServiceAccount tokens with (iambind keygen prints one)")
	case len(d.PublicKeys) > MaxPublicKeys:
		bad("spec.discovery.publicKeys", "lists %d keys; at most %d (two are enough for a rotation)", len(d.PublicKeys), MaxPublicKeys)
	}
	seen := map[string]int{}
	d.keys = nil
	for i, text := range d.PublicKeys {
		field := fmt.Sprintf("spec.discovery.publicKeys[%d]", i)
		pub, err := ParsePublicKeyPEM(text)
		if err != nil {
			bad(field, "%v", err)
			continue
		}
		kid, _ := KeyID(pub)
		if j, dup := seen[kid]; dup {
			bad(field, "is the same key as spec.discovery.publicKeys[%d] (kid %s); list each key once", j, kid)
			continue
		}
		seen[kid] = i
		d.keys = append(d.keys, pub)
	}
	if ok && s.Issuer == "" {
		s.Issuer = DeriveIssuer(d.S3.Bucket, d.S3.Region, d.S3.Prefix)
	}
	return ok
}

// discoveryPlan is one cluster's discovery ConfigMap before it is emitted.
type discoveryPlan struct {
	cluster   *IdentityCluster
	namespace string
	config    []byte
	jwks      []byte
	audiences []string
}

// planDiscovery renders the discovery documents of every cluster with
// spec.discovery, sorted by namespace and name. Audiences are those of the
// bindings that use the cluster (default sts.amazonaws.com without any), so
// the IAM OIDC provider exists even before the first binding.
func planDiscovery(clusters map[string]*IdentityCluster, planned []*plannedBinding, problems *Problems) []*discoveryPlan {
	var out []*discoveryPlan
	for _, c := range clusters {
		if !c.HasDiscovery() {
			continue
		}
		ns := c.Metadata.Namespace
		if ns == "" {
			ns = "default"
		}
		config, jwks, err := DiscoveryDocuments(c.Spec.Issuer, c.Spec.Discovery.keys)
		if err != nil {
			problemSink{ref: clusterRef(c), problems: problems}.errorf("spec.discovery.publicKeys", "cannot render the JWKS: %v", err)
			continue
		}
		arn := OIDCProviderARN(c.Spec.Partition, c.Spec.AccountID, c.Spec.Issuer)
		auds := map[string]bool{}
		for _, pb := range planned {
			for _, p := range pb.role.OIDCProviders {
				if p.ARN == arn {
					for _, a := range p.Audiences {
						auds[a] = true
					}
				}
			}
		}
		if len(auds) == 0 {
			auds[DefaultAudience] = true
		}
		audiences := make([]string, 0, len(auds))
		for a := range auds {
			audiences = append(audiences, a)
		}
		slices.Sort(audiences)
		out = append(out, &discoveryPlan{cluster: c, namespace: ns, config: config, jwks: jwks, audiences: audiences})
	}
	slices.SortFunc(out, func(a, b *discoveryPlan) int {
		return strings.Compare(a.namespace+"/"+a.cluster.Metadata.Name, b.namespace+"/"+b.cluster.Metadata.Name)
	})
	checkDiscoveryTargets(out, problems)
	return out
}

// checkDiscoveryTargets refuses two clusters publishing to the same objects.
func checkDiscoveryTargets(plans []*discoveryPlan, problems *Problems) {
	seen := map[string]string{}
	for _, dp := range plans {
		s3 := dp.cluster.Spec.Discovery.S3
		cfg, _ := DiscoveryObjectKeys(s3.Prefix)
		key := s3.Bucket + "/" + cfg
		if other, dup := seen[key]; dup {
			problemSink{ref: clusterRef(dp.cluster), problems: problems}.errorf("spec.discovery.s3",
				"IdentityCluster %s publishes to the same S3 objects (s3://%s); give each cluster its own bucket or prefix", other, key)
			continue
		}
		seen[key] = dp.cluster.Metadata.Name
	}
}

func clusterRef(c *IdentityCluster) ResourceRef {
	return ResourceRef{APIVersion: APIVersion, Kind: KindCluster, Namespace: c.Metadata.Namespace, Name: c.Metadata.Name}
}

// discoveryConfigMap is the discovery plan of one cluster.
func discoveryConfigMap(dp *discoveryPlan) *fn.KubeObject {
	c := dp.cluster
	s3 := c.Spec.Discovery.S3
	obj := newObject("ConfigMap", dp.namespace, PlanOIDCNamePrefix+c.Metadata.Name)
	mustSet(obj.SetLabel(LabelPlan, PlanOIDCValue))
	mustSet(obj.SetAnnotation(AnnotationCluster, c.Metadata.Name))
	mustSet(obj.SetAnnotation(AnnotationOwner, c.Spec.Owner))
	mustSet(obj.SetAnnotation(AnnotationIssuer, c.Spec.Issuer))
	mustSet(obj.SetAnnotation(AnnotationOIDCProviderARN, OIDCProviderARN(c.Spec.Partition, c.Spec.AccountID, c.Spec.Issuer)))
	mustSet(obj.SetAnnotation(AnnotationAudiences, strings.Join(dp.audiences, ",")))
	mustSet(obj.SetAnnotation(AnnotationS3Bucket, s3.Bucket))
	mustSet(obj.SetAnnotation(AnnotationS3Region, s3.Region))
	if s3.Prefix != "" {
		mustSet(obj.SetAnnotation(AnnotationS3Prefix, s3.Prefix))
	}
	mustSet(obj.SetNestedString(string(dp.config), "data", PlanKeyOpenIDConfig))
	mustSet(obj.SetNestedString(string(dp.jwks), "data", PlanKeyJWKS))
	return obj
}

// checkDiscoveryNames refuses a discovery plan whose ConfigMap name is taken
// by a user ConfigMap or by a binding's plan (binding "oidc-x" in the same
// namespace as cluster "x").
func checkDiscoveryNames(plans []*discoveryPlan, planned []*plannedBinding, taken map[string]bool, problems *Problems) {
	bindingPlans := map[string]string{}
	for _, pb := range planned {
		ns, name, _ := strings.Cut(pb.key, "/")
		bindingPlans[ns+"/"+PlanNamePrefix+name] = pb.key
	}
	for _, dp := range plans {
		id := dp.namespace + "/" + PlanOIDCNamePrefix + dp.cluster.Metadata.Name
		sink := problemSink{ref: clusterRef(dp.cluster), problems: problems}
		if n := len(PlanOIDCNamePrefix + dp.cluster.Metadata.Name); n > 253 {
			sink.errorf("metadata.name", "is too long for its discovery plan ConfigMap %s%s (%d characters, Kubernetes allows 253)", PlanOIDCNamePrefix, "<name>", n)
		} else if b, clash := bindingPlans[id]; clash {
			sink.errorf("metadata.name", "its discovery plan ConfigMap %s has the same name as the plan of IdentityBinding %s; rename one of them", id, b)
		} else if taken[id] {
			sink.errorf("metadata.name", "ConfigMap %s already exists in the input and is not iambind's; rename the cluster or that ConfigMap", id)
		}
	}
}
