package generator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// IAM limits that the AWS SDK does not check.
const (
	MaxRoleNameLength       = 64
	MaxRolePathLength       = 512
	MaxDescriptionLength    = 1000
	MinSessionDuration      = 3600
	MaxSessionDuration      = 43200
	MaxInlinePolicyName     = 128
	MaxInlinePolicyTotal    = 10240
	DefaultManagedPerRole   = 10
	MaxManagedPerRole       = 20
	MaxTagsPerRole          = 50
	MaxTagKeyLength         = 128
	MaxTagValueLength       = 256
	MinTokenExpiration      = 600
	MaxTokenExpiration      = 86400
	roleNameHashSuffixChars = 8
)

var (
	roleNamePattern   = regexp.MustCompile(`^[\w+=,.@-]+$`)
	roleNameChars     = regexp.MustCompile(`^[\w+=,.@-]*$`)
	rolePathPattern   = regexp.MustCompile(`^/([\x21-\x7E]*/)?$`)
	accountIDPattern  = regexp.MustCompile(`^[0-9]{12}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	policyNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,128}$`)
	// policyARNPattern: arn:<partition>:iam::<aws|account>:policy/<path/>name
	policyARNPattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):iam::(aws|[0-9]{12}):policy/(([\x21-\x7E]+/)?[\w+=,.@-]{1,128})$`)
	// managedPolicyName: an AWS managed policy name with an optional path, such as service-role/X.
	managedPolicyName = regexp.MustCompile(`^([\w+=,.@-]+/)*[\w+=,.@-]{1,128}$`)
	tagPattern        = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$`)
	descriptionChars  = regexp.MustCompile(`^[\x{0009}\x{000A}\x{000D}\x{0020}-\x{007E}\x{00A1}-\x{00FF}]*$`)
	dns1123Label      = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	dns1123Subdomain  = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)
	// saGlobPattern: a subdomain with * and ? wildcards allowed (IAM StringLike).
	saGlobPattern = regexp.MustCompile(`^[a-z0-9*?]([-a-z0-9.*?]*[a-z0-9*?])?$`)
)

// IsValidRoleName reports whether IAM accepts name as a role name:
// 1-64 characters of [A-Za-z0-9_+=,.@-]. The reconcile side checks plans
// with the same rules the function writes them by.
func IsValidRoleName(name string) bool {
	return len(name) <= MaxRoleNameLength && roleNamePattern.MatchString(name)
}

// IsValidRolePath reports whether IAM accepts path as a role path.
func IsValidRolePath(path string) bool {
	return len(path) <= MaxRolePathLength && rolePathPattern.MatchString(path)
}

// IsValidInlinePolicyName reports whether IAM accepts name for an inline policy.
func IsValidInlinePolicyName(name string) bool { return policyNamePattern.MatchString(name) }

// IsPolicyARN reports whether arn is an IAM managed policy ARN
// (arn:<partition>:iam::<aws|account>:policy/<path/>name).
func IsPolicyARN(arn string) bool { return policyARNPattern.MatchString(arn) }

// Partitions iambind knows, with the region prefix each one uses.
var partitionRegionPrefix = map[string][]string{
	"aws":        nil, // every other region
	"aws-cn":     {"cn-"},
	"aws-us-gov": {"us-gov-"},
}

// DeriveRoleName builds the default role name `<prefix><namespace>-<name>`.
// IAM allows 64 characters; a longer name is cut and suffixed with the first
// 8 hex digits of the SHA-256 of the full name, so it stays unique and stable.
func DeriveRoleName(prefix, namespace, name string) string {
	full := prefix + namespace + "-" + name
	if len(full) <= MaxRoleNameLength {
		return full
	}
	sum := sha256.Sum256([]byte(full))
	suffix := "-" + hex.EncodeToString(sum[:])[:roleNameHashSuffixChars]
	return full[:MaxRoleNameLength-len(suffix)] + suffix
}

// RoleARN is arn:<partition>:iam::<account>:role<path><name>.
func RoleARN(partition, accountID, path, name string) string {
	return fmt.Sprintf("arn:%s:iam::%s:role%s%s", partition, accountID, path, name)
}

// OIDCProviderARN is the IAM OIDC identity provider ARN for an issuer URL.
func OIDCProviderARN(partition, accountID, issuer string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, accountID, IssuerHostPath(issuer))
}

// IssuerHostPath is the issuer URL without its https:// scheme, which is how
// IAM names the provider and prefixes its condition keys.
func IssuerHostPath(issuer string) string {
	return strings.TrimPrefix(issuer, "https://")
}

// ManagedPolicyARN resolves a managed policy reference: a full ARN is kept,
// a bare name (optionally with a path) is an AWS managed policy.
func ManagedPolicyARN(partition, ref string) string {
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return fmt.Sprintf("arn:%s:iam::aws:policy/%s", partition, ref)
}

// BoundaryARN resolves a permissions boundary: a full ARN is kept, a name is
// a customer-managed policy in the role's account.
func BoundaryARN(partition, accountID, ref string) string {
	if ref == "" || strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return fmt.Sprintf("arn:%s:iam::%s:policy/%s", partition, accountID, ref)
}

// SubjectFor is the `sub` claim Kubernetes puts in a ServiceAccount token.
func SubjectFor(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// IsWildcard reports whether a ServiceAccount name is a glob.
func IsWildcard(name string) bool {
	return strings.ContainsAny(name, "*?")
}

// NonWhitespaceLength counts the characters IAM counts against policy size quotas.
func NonWhitespaceLength(doc []byte) int {
	n := 0
	for _, r := range string(doc) {
		switch r {
		case ' ', '\t', '\n', '\r':
		default:
			n++
		}
	}
	return n
}

// MarshalJSON encodes v without HTML escaping (IAM documents may hold & < >),
// pretty with a 2-space indent when indent is true. Maps are sorted by
// encoding/json, so the result is deterministic.
func MarshalJSON(v any, indent bool) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}
