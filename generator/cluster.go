package generator

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// defaultAndValidateCluster fills the defaults of docs/api.md and reports
// every invalid field. It returns false when the cluster cannot be used.
func defaultAndValidateCluster(c *IdentityCluster, sink problemSink) bool {
	before := len(*sink.problems)
	s := &c.Spec
	if c.Metadata.Name == "" {
		sink.errorf("metadata.name", "is required: bindings reference the cluster by name")
	} else if !dns1123Subdomain.MatchString(c.Metadata.Name) {
		sink.errorf("metadata.name", "%q is not a valid name (lower-case DNS-1123: a-z, 0-9, '-', '.')", c.Metadata.Name)
	}
	if s.Partition == "" {
		s.Partition = "aws"
	}
	if s.Owner == "" {
		s.Owner = c.Metadata.Name
	}
	if s.RolePath == "" {
		s.RolePath = "/"
	}
	if s.MaxTrustPolicySize == 0 {
		s.MaxTrustPolicySize = DefaultMaxTrustPolicySize
	}

	switch {
	case s.AccountID == "":
		sink.errorf("spec.accountID", "is required: the 12-digit AWS account ID the roles live in")
	case !accountIDPattern.MatchString(s.AccountID):
		sink.errorf("spec.accountID", "%q must be exactly 12 digits", s.AccountID)
	}
	prefixes, knownPartition := partitionRegionPrefix[s.Partition]
	if !knownPartition {
		sink.errorf("spec.partition", "%q is not one of aws, aws-cn, aws-us-gov", s.Partition)
	}
	if s.Region != "" {
		if !regionPattern.MatchString(s.Region) {
			sink.errorf("spec.region", "%q is not an AWS region name such as us-west-2", s.Region)
		} else if knownPartition && !regionInPartition(s.Region, s.Partition, prefixes) {
			sink.errorf("spec.region", "region %q is not in partition %q", s.Region, s.Partition)
		}
	}
	if c.HasDiscovery() {
		// Derives spec.issuer from the bucket when it is empty.
		if !defaultAndValidateDiscovery(c, sink) && s.Issuer == "" {
			return false // no issuer to check
		}
	}
	validateIssuer(s.Issuer, "spec.issuer", sink)
	validateTagValue(s.Owner, "spec.owner", sink)
	validateRolePath(s.RolePath, "spec.rolePath", sink)
	if !roleNameChars.MatchString(s.RoleNamePrefix) {
		sink.errorf("spec.roleNamePrefix", "%q may only hold IAM role name characters [A-Za-z0-9_+=,.@-]", s.RoleNamePrefix)
	} else if len(s.RoleNamePrefix) > 32 {
		sink.errorf("spec.roleNamePrefix", "is %d characters; keep it to 32 so derived role names stay readable within IAM's 64", len(s.RoleNamePrefix))
	}
	if s.PermissionsBoundary != "" {
		validatePolicyRef(s.PermissionsBoundary, s.Partition, "spec.permissionsBoundary", false, sink)
	}
	validateTags(s.Tags, "spec.tags", sink)
	validateEKSClusterName(s.EKSClusterName, "spec.eksClusterName", sink)
	if s.MaxTrustPolicySize < 1 || s.MaxTrustPolicySize > 4096 {
		sink.errorf("spec.maxTrustPolicySize", "%d is outside 1..4096 (AWS's default quota is 2048 and the highest it grants is 4096)", s.MaxTrustPolicySize)
	}
	return !sink.erredSince(before)
}

func regionInPartition(region, partition string, prefixes []string) bool {
	if partition == "aws" {
		for _, other := range partitionRegionPrefix {
			for _, p := range other {
				if strings.HasPrefix(region, p) {
					return false
				}
			}
		}
		return true
	}
	for _, p := range prefixes {
		if strings.HasPrefix(region, p) {
			return true
		}
	}
	return false
}

// validateIssuer checks the OIDC issuer: an https URL with a host, no query,
// fragment, credentials or trailing slash (IAM names providers by host+path).
func validateIssuer(issuer, field string, sink problemSink) {
	if issuer == "" {
		sink.errorf(field, "is required: the cluster's OIDC issuer URL (aws eks describe-cluster --query cluster.identity.oidc.issuer), or set spec.discovery to publish a self-hosted issuer")
		return
	}
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		sink.errorf(field, "%q is not a URL: %v", issuer, err)
	case u.Scheme != "https":
		sink.errorf(field, "%q must start with https:// (IAM only trusts https issuers)", issuer)
	case u.Host == "":
		sink.errorf(field, "%q has no host", issuer)
	case u.User != nil:
		sink.errorf(field, "%q must not carry credentials", issuer)
	case u.RawQuery != "" || u.ForceQuery:
		sink.errorf(field, "%q must not have a query string", issuer)
	case u.Fragment != "" || strings.Contains(issuer, "#"):
		sink.errorf(field, "%q must not have a fragment", issuer)
	case strings.HasSuffix(issuer, "/"):
		sink.errorf(field, "%q must not end with '/': tokens carry the issuer without it", issuer)
	case strings.ContainsAny(issuer, " \t\n\"\\"):
		sink.errorf(field, "%q contains white space, quotes or backslashes", issuer)
	case strings.ToLower(u.Host) != u.Host:
		sink.errorf(field, "%q: the host must be lower case, as it appears in tokens", issuer)
	}
}

func validateRolePath(path, field string, sink problemSink) {
	switch {
	case len(path) > MaxRolePathLength:
		sink.errorf(field, "is %d characters; IAM allows at most %d", len(path), MaxRolePathLength)
	case !rolePathPattern.MatchString(path):
		sink.errorf(field, "%q must start and end with '/' and hold only printable ASCII without spaces, such as /iambind/", path)
	}
}

func validateTagValue(value, field string, sink problemSink) {
	switch {
	case len(value) > MaxTagValueLength:
		sink.errorf(field, "is %d characters; IAM tag values allow at most %d", len(value), MaxTagValueLength)
	case !tagPattern.MatchString(value):
		sink.errorf(field, "%q holds characters IAM tags do not allow (letters, digits, spaces and _.:/=+-@ only)", value)
	}
}

func validateTags(tags map[string]string, field string, sink problemSink) {
	for _, k := range slices.Sorted(maps.Keys(tags)) {
		f := field + "." + k
		switch {
		case k == "":
			sink.errorf(field, "has an empty tag key")
		case len(k) > MaxTagKeyLength:
			sink.errorf(f, "tag key is %d characters; IAM allows at most %d", len(k), MaxTagKeyLength)
		case !tagPattern.MatchString(k):
			sink.errorf(f, "tag key holds characters IAM tags do not allow (letters, digits, spaces and _.:/=+-@ only)")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			sink.errorf(f, "tag keys starting with aws: are reserved by AWS")
		case k == TagOwner || k == TagBinding || k == TagManagedBy:
			sink.errorf(f, "tag %q is set by iambind to track ownership and cannot be overridden", k)
		}
		validateTagValue(tags[k], f, sink)
	}
}

// validatePolicyRef checks a policy given as an ARN, or as a name: an AWS
// managed policy name (managed=true) or a customer policy name (boundaries).
func validatePolicyRef(ref, partition, field string, managed bool, sink problemSink) {
	if strings.HasPrefix(ref, "arn:") {
		m := policyARNPattern.FindStringSubmatch(ref)
		if m == nil {
			sink.errorf(field, "%q is not a valid IAM policy ARN (arn:<partition>:iam::<account or aws>:policy/<name>)", ref)
			return
		}
		if m[1] != partition {
			sink.errorf(field, "%q is in partition %q but the cluster is in %q", ref, m[1], partition)
		}
		return
	}
	if !managedPolicyName.MatchString(ref) {
		kind := "an AWS managed policy name (such as AmazonS3ReadOnlyAccess or service-role/AmazonEBSCSIDriverPolicy)"
		if !managed {
			kind = "a customer managed policy name"
		}
		sink.errorf(field, "%q is neither a policy ARN nor %s", ref, kind)
	}
}
