package main

import (
	"github.com/iambind/iambind/addons"
	"github.com/iambind/iambind/generator"
)

// wellKnownNames are the names spec.policies.wellKnown accepts.
func wellKnownNames() []any {
	var out []any
	for _, n := range addons.Names() {
		out = append(out, n)
	}
	return out
}

// kindRules says, per kind and field path, what the Go types cannot: the
// validation iambind-fn applies (patterns, enums, ranges), defaults, and a
// user-facing description where the Go field has no doc comment. Paths are
// JSON field paths from the object root; "[]" is a list item, ".*" a map value.
// Only rules a schema can check exactly are here; iambind-fn checks the rest
// (and says which field) — a schema never refuses what the function accepts.
var kindRules = map[string]map[string]*Schema{
	generator.KindCluster: {
		"metadata": {Description: "Standard object metadata. Bindings reference the cluster by metadata.name."},
		"metadata.name": {Description: "The cluster's name, referenced by IdentityBinding spec.clusters. Lower-case DNS-1123 subdomain.",
			Pattern: dns1123Subdomain, MaxLength: ptr(253)},
		"spec":           {Description: "The cluster's OIDC issuer and the AWS account its roles live in.", Required: []string{"accountID"}},
		"spec.accountID": {Description: "The 12-digit AWS account ID the roles live in. Quote it in YAML, or leading zeros are lost.", Pattern: `^[0-9]{12}$`},
		"spec.partition": {Description: "The AWS partition of the account.", Enum: []any{"aws", "aws-cn", "aws-us-gov"}, Default: "aws"},
		"spec.region":    {Description: "The cluster's AWS region, such as us-west-2; must belong to the partition.", Pattern: `^[a-z]{2}(-[a-z]+)+-[0-9]+$`},
		"spec.issuer": {Description: "The cluster's OIDC issuer URL, exactly as it appears in tokens: https, lower-case host, no query, fragment or trailing slash. Required unless spec.discovery derives it.",
			Pattern: `^(https://[^\s?#"\\]*[^\s?#"\\/])?$`},
		"spec.owner": {Description: "Value of the iambind.dev/owner tag on every role planned for this cluster; prune works per owner. Default: metadata.name.",
			MaxLength: ptr(generator.MaxTagValueLength), Pattern: tagChars},
		"spec.rolePath": {Description: "IAM path of the roles, starting and ending with '/'.", Default: "/",
			Pattern: rolePath, MaxLength: ptr(generator.MaxRolePathLength)},
		"spec.roleNamePrefix": {Description: "Prepended to derived role names (<prefix><namespace>-<name>).",
			Pattern: `^[\w+=,.@-]*$`, MaxLength: ptr(32)},
		"spec.permissionsBoundary": {Description: "Default permissions boundary for the cluster's roles: a policy ARN, or the name of a customer managed policy in the account."},
		"spec.tags":                {Description: "Tags added to every role of the cluster (a binding's role.tags win). Keys aws:* and iambind's own tags are refused."},
		"spec.tags.*":              {MaxLength: ptr(generator.MaxTagValueLength), Pattern: tagChars},
		"spec.discovery.s3.bucket": {MinLength: ptr(3), MaxLength: ptr(63), Pattern: `^[a-z0-9][a-z0-9.-]*[a-z0-9]$`},
		"spec.discovery.s3.region": {Pattern: `^[a-z]{2}(-[a-z]+)+-[0-9]+$`},
		"spec.discovery.s3.prefix": {Pattern: `^([^/].*[^/]|[^/])?$`},
		"spec.maxTrustPolicySize": {Description: "The account's trust policy size quota in characters (white space not counted); raise it only if AWS raised yours.",
			Default: generator.DefaultMaxTrustPolicySize, Minimum: ptr64(1), Maximum: ptr64(4096)},
	},
	"Guardrails": {
		"spec.maxSessionDuration": {AnyOf: []*Schema{{Const: 0}, {Minimum: ptr64(generator.MinSessionDuration), Maximum: ptr64(generator.MaxSessionDuration)}}},
	},
	generator.KindBinding: {
		"spec.mode": {Enum: []any{"irsa", "podIdentity", "both"}, Default: "irsa"},
		"metadata":  {Description: "Standard object metadata."},
		"metadata.name": {Description: "The binding's name: a DNS-1123 label. Also the default ServiceAccount name and part of the derived role name.",
			Pattern: dns1123Label, MaxLength: ptr(63)},
		"metadata.namespace": {Description: "Default namespace of the binding's ServiceAccounts (default: \"default\").",
			Pattern: dns1123Label, MaxLength: ptr(63)},
		"spec":                   {Description: "One workload identity: which ServiceAccounts assume which IAM role, with which permissions."},
		"spec.clusters":          {Description: "Names of the IdentityClusters whose tokens may assume the role; may be omitted when exactly one is in scope. All must share one account and partition.", UniqueItems: true},
		"spec.clusters[]":        {Pattern: dns1123Subdomain},
		"spec.serviceAccounts":   {Description: "The ServiceAccounts that assume the role. Default: one named like the binding, in its namespace."},
		"spec.serviceAccounts[]": {Required: []string{"name"}},
		"spec.serviceAccounts[].name": {Description: "ServiceAccount name, or a glob (*, ?) when allowWildcardSubjects is true.",
			MinLength: ptr(1), MaxLength: ptr(253), Pattern: `^[a-z0-9*?]([-a-z0-9.*?]*[a-z0-9*?])?$`},
		"spec.serviceAccounts[].namespace": {Description: "Namespace of the ServiceAccount (default: the binding's namespace).",
			MaxLength: ptr(63), Pattern: `^[a-z0-9*?]([-a-z0-9*?]*[a-z0-9*?])?$`},
		"spec.createServiceAccounts": {Description: "Emit ServiceAccounts that are not already in the input; false = only annotate existing ones.", Default: true},
		"spec.allowWildcardSubjects": {Description: "Allow glob ServiceAccount names and namespaces (StringLike in the trust policy). Wildcards never get a ServiceAccount generated.", Default: false},
		"spec.role":                  {Description: "Overrides of the derived IAM role settings."},
		"spec.role.name": {Description: "Role name. Default: <roleNamePrefix><namespace>-<name>, cut to 64 characters with a hash suffix. An invalid explicit name is an error, never rewritten.",
			Pattern: `^[\w+=,.@-]{1,64}$`},
		"spec.role.path": {Description: "IAM path of the role (default: the cluster's rolePath).", Pattern: rolePath, MaxLength: ptr(generator.MaxRolePathLength)},
		"spec.role.description": {Description: "Role description. Default: \"Managed by iambind for <namespace>/<name>\".",
			MaxLength: ptr(generator.MaxDescriptionLength)},
		"spec.role.noDescription": {Description: "Give the role no description at all (as most roles made outside iambind have) instead of the default one; spec.role.description must then be empty. iambind import sets it for such roles."},
		"spec.role.maxSessionDuration": {Description: "Maximum session duration in seconds, 3600..43200 (0 or omitted: 3600).", Default: generator.DefaultMaxSessionDuration,
			AnyOf: []*Schema{{Const: 0}, {Minimum: ptr64(generator.MinSessionDuration), Maximum: ptr64(generator.MaxSessionDuration)}}},
		"spec.role.permissionsBoundary": {Description: "Permissions boundary: a policy ARN, or the name of a customer managed policy in the account (default: the cluster's)."},
		"spec.role.tags":                {Description: "Tags of the role, merged over the cluster's tags. Keys aws:* and iambind's own tags are refused."},
		"spec.role.tags.*":              {MaxLength: ptr(generator.MaxTagValueLength), Pattern: tagChars},
		"spec.policies":                 {Description: "The permissions of the role."},
		"spec.policies.managed": {Description: "Managed policies to attach: a bare name (with an optional path, such as service-role/AmazonEBSCSIDriverPolicy) is an AWS managed policy; or a full policy ARN.",
			MaxItems: ptr(generator.MaxManagedPerRole), UniqueItems: true},
		"spec.policies.managed[]": {MinLength: ptr(1)},
		"spec.policies.inline": {Description: "Inline policies: policy name → IAM policy document, as a YAML object or a JSON string.",
			PropertyNames: &Schema{Pattern: `^[\w+=,.@-]{1,128}$`}},
		"spec.policies.inline.*":                {Type: []any{"object", "string"}},
		"spec.policies.wellKnown":               {Description: "Add-ons whose own published policies the role gets, by name with the parameters that scope them (docs/addons.md)."},
		"spec.policies.wellKnown[]":             {Required: []string{"name"}},
		"spec.policies.wellKnown[].name":        {Enum: wellKnownNames()},
		"spec.policies.wellKnown[].ipFamily":    {Enum: []any{"ipv4", "ipv6"}, Default: "ipv4"},
		"spec.policies.wellKnown[].clusterName": {Pattern: `^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`},
		"spec.audience":                         {Description: "Token audience the trust policy requires.", Default: generator.DefaultAudience, MinLength: ptr(1), MaxLength: ptr(255), Pattern: `^[^\s"\\]+$`},
		"spec.stsRegionalEndpoints":             {Description: "Sets the ServiceAccount annotation eks.amazonaws.com/sts-regional-endpoints.", Default: true},
		"spec.tokenExpiration": {Description: "Projected token lifetime in seconds, 600..86400; 0 leaves the cluster default (86400).", Default: 0,
			AnyOf: []*Schema{{Const: 0}, {Minimum: ptr64(generator.MinTokenExpiration), Maximum: ptr64(generator.MaxTokenExpiration)}}},
	},
}

// pendingRules are for fields this round adds in parallel branches:
// applied when the field exists, and not an error while it does not. Move
// them into kindRules once the fields are merged.
var pendingRules = map[string]map[string]*Schema{
	"IdentityBinding": {
		"spec.podIdentity": {Description: "EKS Pod Identity settings of the association (mode podIdentity or both): a target role, session tags, a session policy."},
		"spec.podIdentity.targetAccountID": {Description: "Put the binding's policies on a target role in this 12-digit account; EKS assumes the association role, then the target role (targetRoleArn). Quote it in YAML.",
			Pattern: `^[0-9]{12}$`},
		"spec.podIdentity.disableSessionTags": {Description: "Turn off the session tags EKS Pod Identity passes (the trust then drops its session-tag conditions).", Default: false},
		"spec.podIdentity.sessionPolicy": {Description: "IAM policy document (a YAML object or a JSON string) that narrows the pods' credentials; requires disableSessionTags: true. At most 2048 characters as compact JSON (STS's session policy limit).",
			Type: []any{"object", "string"}},
	},
}

const (
	dns1123Label     = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	dns1123Subdomain = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
	rolePath         = `^/([\x21-\x7E]*/)?$`
	// tagChars: IAM tag characters. \p{..} classes are not portable across
	// JSON Schema regex dialects, so letters beyond ASCII are left to iambind-fn.
	tagChars = `^[^\x00-\x1f"\\!#$%&'()*,;<>?\[\]^{|}~` + "`" + `]*$`
)

func ptr(n int) *int       { return &n }
func ptr64(n int64) *int64 { return &n }
