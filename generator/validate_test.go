package generator

import (
	"fmt"
	"strings"
	"testing"
)

// validationCase is one validation rule: the input that breaks it and the
// problem it must produce (severity, resource, field path, message fragment).
type validationCase struct {
	name     string
	docs     []string
	fnConfig string
	sev      Severity
	resource string // ResourceRef.String()
	field    string
	fragment string
}

const (
	refBinding = "IdentityBinding shop/orders"
	refCluster = "IdentityCluster prod"
)

// clusterCase breaks a rule of the IdentityCluster spec (given in full).
func clusterCase(name, spec, field, fragment string) validationCase {
	return validationCase{name: "cluster/" + name, docs: []string{clusterDoc("prod", spec), bindingDoc("shop", "orders", "")},
		sev: SeverityError, resource: refCluster, field: field, fragment: fragment}
}

// clusterExtra adds lines to a valid cluster spec.
func clusterExtra(name, extra, field, fragment string) validationCase {
	return clusterCase(name, fmt.Sprintf("accountID: %q\nissuer: %s\n%s", testAccount, testIssuer, extra), field, fragment)
}

// issuerCase sets the cluster issuer.
func issuerCase(name, issuer, fragment string) validationCase {
	return clusterCase("issuer/"+name, fmt.Sprintf("accountID: %q\nissuer: %q\n", testAccount, issuer), "spec.issuer", fragment)
}

// bindingCase breaks a rule of the binding spec.
func bindingCase(name, spec, field, fragment string) validationCase {
	return validationCase{name: "binding/" + name, docs: []string{validCluster(""), bindingDoc("shop", "orders", spec)},
		sev: SeverityError, resource: refBinding, field: field, fragment: fragment}
}

func warningCase(name, spec, field, fragment string) validationCase {
	c := bindingCase(name, spec, field, fragment)
	c.sev = SeverityWarning
	return c
}

func inlineDoc(statements string) string {
	return "policies:\n  inline:\n    p:\n      Version: \"2012-10-17\"\n      Statement:\n" + indent(statements, 6) + "\n"
}

func tagsYAML(prefix string, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  %s%02d: v\n", prefix, i)
	}
	return b.String()
}

func managedList(n int) string {
	var b strings.Builder
	b.WriteString("policies:\n  managed:\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "  - arn:aws:iam::111122223333:policy/p%02d\n", i)
	}
	return b.String()
}

func validationCases() []validationCase {
	acct := fmt.Sprintf("accountID: %q\n", testAccount)
	bigStatement := `{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + strings.Repeat("x", 10300) + `"}`
	cases := []validationCase{
		// IdentityCluster (cluster.go, decode.go)
		clusterCase("accountID required", "issuer: "+testIssuer+"\n", "spec.accountID", "is required"),
		clusterCase("accountID short", "accountID: \"11112222333\"\nissuer: "+testIssuer+"\n", "spec.accountID", `"11112222333" must be exactly 12 digits`),
		clusterCase("accountID letters", "accountID: \"11112222333a\"\nissuer: "+testIssuer+"\n", "spec.accountID", "must be exactly 12 digits"),
		clusterCase("accountID unquoted number", "accountID: 011122223333\nissuer: "+testIssuer+"\n", "spec.accountID", `must be a string, got a number (quote account IDs: accountID: "111122223333"`),
		clusterExtra("partition enum", "partition: aws-iso\n", "spec.partition", `"aws-iso" is not one of aws, aws-cn, aws-us-gov`),
		clusterExtra("region syntax", "region: Oregon\n", "spec.region", "is not an AWS region name"),
		clusterExtra("china region in aws", "region: cn-north-1\n", "spec.region", `region "cn-north-1" is not in partition "aws"`),
		clusterExtra("govcloud region in aws", "region: us-gov-west-1\n", "spec.region", `is not in partition "aws"`),
		clusterExtra("aws region in aws-cn", "partition: aws-cn\nregion: us-west-2\n", "spec.region", `region "us-west-2" is not in partition "aws-cn"`),
		clusterExtra("aws region in aws-us-gov", "partition: aws-us-gov\nregion: us-east-1\n", "spec.region", `is not in partition "aws-us-gov"`),
		clusterCase("issuer required", acct, "spec.issuer", "is required"),
		issuerCase("http", "http://oidc.example.com/id/A", "must start with https://"),
		issuerCase("no scheme", "oidc.example.com/id/A", "must start with https://"),
		issuerCase("query", "https://oidc.example.com/id/A?x=1", "must not have a query string"),
		issuerCase("empty query", "https://oidc.example.com/id/A?", "must not have a query string"),
		issuerCase("fragment", "https://oidc.example.com/id/A#frag", "must not have a fragment"),
		issuerCase("empty fragment", "https://oidc.example.com/id/A#", "must not have a fragment"),
		issuerCase("trailing slash", "https://oidc.example.com/id/A/", "must not end with '/'"),
		issuerCase("userinfo", "https://user:pw@oidc.example.com/id/A", "must not carry credentials"),
		issuerCase("no host", "https:///id/A", "has no host"),
		issuerCase("upper-case host", "https://OIDC.example.com/id/A", "host must be lower case"),
		clusterExtra("rolePath no slashes", "rolePath: iambind\n", "spec.rolePath", "must start and end with '/'"),
		clusterExtra("rolePath no trailing slash", "rolePath: /iambind\n", "spec.rolePath", "must start and end with '/'"),
		clusterExtra("rolePath space", "rolePath: \"/a b/\"\n", "spec.rolePath", "without spaces"),
		clusterExtra("rolePath too long", "rolePath: /"+strings.Repeat("a", 511)+"/\n", "spec.rolePath", "is 513 characters; IAM allows at most 512"),
		clusterExtra("roleNamePrefix chars", "roleNamePrefix: eks/\n", "spec.roleNamePrefix", "may only hold IAM role name characters"),
		clusterExtra("roleNamePrefix length", "roleNamePrefix: "+strings.Repeat("p", 33)+"\n", "spec.roleNamePrefix", "is 33 characters; keep it to 32"),
		clusterExtra("boundary bad ARN", "permissionsBoundary: arn:aws:iam::123:policy/b\n", "spec.permissionsBoundary", "is not a valid IAM policy ARN"),
		clusterExtra("boundary partition", "permissionsBoundary: arn:aws-cn:iam::111122223333:policy/b\n", "spec.permissionsBoundary", `is in partition "aws-cn" but the cluster is in "aws"`),
		clusterExtra("boundary bad name", "permissionsBoundary: \"my boundary\"\n", "spec.permissionsBoundary", "neither a policy ARN nor a customer managed policy name"),
		clusterExtra("tag aws: prefix", "tags:\n  aws:team: x\n", "spec.tags.aws:team", "reserved by AWS"),
		clusterExtra("tag AWS: prefix any case", "tags:\n  AWS:team: x\n", "spec.tags.AWS:team", "reserved by AWS"),
		clusterExtra("tag reserved owner", "tags:\n  iambind.dev/owner: x\n", "spec.tags.iambind.dev/owner", "set by iambind to track ownership"),
		clusterExtra("tag reserved managed-by", "tags:\n  app.kubernetes.io/managed-by: x\n", "spec.tags.app.kubernetes.io/managed-by", "cannot be overridden"),
		clusterExtra("tag key length", "tags:\n  "+strings.Repeat("k", 129)+": x\n", "spec.tags."+strings.Repeat("k", 129), "tag key is 129 characters; IAM allows at most 128"),
		clusterExtra("tag key chars", "tags:\n  \"team!\": x\n", "spec.tags.team!", "tag key holds characters IAM tags do not allow"),
		clusterExtra("tag value length", "tags:\n  team: "+strings.Repeat("v", 257)+"\n", "spec.tags.team", "is 257 characters; IAM tag values allow at most 256"),
		clusterExtra("tag value chars", "tags:\n  team: \"a;b\"\n", "spec.tags.team", "holds characters IAM tags do not allow"),
		clusterExtra("owner chars", "owner: \"a;b\"\n", "spec.owner", "holds characters IAM tags do not allow"),
		clusterExtra("maxTrustPolicySize over", "maxTrustPolicySize: 5000\n", "spec.maxTrustPolicySize", "5000 is outside 1..4096"),
		clusterExtra("maxTrustPolicySize negative", "maxTrustPolicySize: -1\n", "spec.maxTrustPolicySize", "-1 is outside 1..4096"),
		clusterExtra("unknown field", "acountID: \"111122223333\"\n", "spec.acountID", "unknown field"),
		clusterExtra("wrong type tags", "tags: [a, b]\n", "spec.tags", "must be an object, got a list"),
		clusterExtra("wrong type maxTrustPolicySize", "maxTrustPolicySize: big\n", "spec.maxTrustPolicySize", "must be an integer, got a string"),
		{name: "cluster/name invalid", docs: []string{clusterDoc("Prod_1", ""), bindingDoc("shop", "orders", "clusters: [Prod_1]\n")},
			sev: SeverityError, resource: "IdentityCluster Prod_1", field: "metadata.name", fragment: "is not a valid name"},
		{name: "cluster/duplicate key", docs: []string{"apiVersion: iambind.dev/v1alpha1\nkind: IdentityCluster\nmetadata:\n  name: prod\nspec:\n  accountID: \"111122223333\"\n  accountID: \"111122223334\"\n  issuer: " + testIssuer + "\n"},
			sev: SeverityError, resource: refCluster, field: "spec.accountID", fragment: `key "accountID" is given twice`},
		{name: "cluster/merge key", docs: []string{"apiVersion: iambind.dev/v1alpha1\nkind: IdentityCluster\nmetadata:\n  name: prod\nx-base: &b\n  accountID: \"111122223333\"\nspec:\n  <<: *b\n  issuer: " + testIssuer + "\n"},
			sev: SeverityError, resource: refCluster, field: "spec", fragment: "merge keys (<<) are not supported"},

		// IdentityBinding metadata and subjects (binding.go)
		{name: "binding/name not DNS-1123", docs: []string{validCluster(""), bindingDoc("shop", "Orders", "")},
			sev: SeverityError, resource: "IdentityBinding shop/Orders", field: "metadata.name", fragment: "is not a DNS-1123 label"},
		{name: "binding/name too long", docs: []string{validCluster(""), bindingDoc("shop", strings.Repeat("a", 64), "")},
			sev: SeverityError, resource: "IdentityBinding shop/" + strings.Repeat("a", 64), field: "metadata.name", fragment: "at most 63 characters"},
		{name: "binding/namespace not DNS-1123", docs: []string{validCluster(""), bindingDoc("Shop_1", "orders", "")},
			sev: SeverityError, resource: "IdentityBinding Shop_1/orders", field: "metadata.namespace", fragment: `"Shop_1" is not a valid namespace name`},
		bindingCase("SA name invalid", "serviceAccounts:\n- name: Orders\n", "spec.serviceAccounts[0].name", `"Orders" is not a valid ServiceAccount name`),
		bindingCase("SA name with newline", "serviceAccounts:\n- name: \"a\\nb\"\n", "spec.serviceAccounts[0].name", "is not a valid ServiceAccount name"),
		bindingCase("SA name empty", "serviceAccounts:\n- name: a\n- name: \"\"\n", "spec.serviceAccounts[1].name", "is required"),
		bindingCase("SA namespace invalid", "serviceAccounts:\n- name: a\n  namespace: Batch\n", "spec.serviceAccounts[0].namespace", `"Batch" is not a valid namespace name`),
		bindingCase("wildcard without opt-in", "serviceAccounts:\n- name: \"*\"\n", "spec.serviceAccounts[0].name", "set spec.allowWildcardSubjects: true"),
		bindingCase("glob without opt-in", "serviceAccounts:\n- name: etl-*\n", "spec.serviceAccounts[0].name", `"shop/etl-*" is a wildcard subject`),
		bindingCase("namespace wildcard without opt-in", "serviceAccounts:\n- name: a\n  namespace: \"team-*\"\n", "spec.serviceAccounts[0].name", "is a wildcard subject"),
		bindingCase("invalid glob", "allowWildcardSubjects: true\nserviceAccounts:\n- name: ETL-*\n", "spec.serviceAccounts[0]", "is not a valid ServiceAccount glob"),
		bindingCase("duplicate SA", "serviceAccounts:\n- name: a\n- name: b\n- name: a\n", "spec.serviceAccounts[2]", `"shop/a" is listed twice (also spec.serviceAccounts[0])`),
		bindingCase("duplicate SA via default namespace", "serviceAccounts:\n- name: a\n- name: a\n  namespace: shop\n", "spec.serviceAccounts[1]", "is listed twice"),
		bindingCase("unknown cluster", "clusters: [nope]\n", "spec.clusters[0]", `IdentityCluster "nope" not found (in scope: prod)`),
		bindingCase("cluster listed twice", "clusters: [prod, prod]\n", "spec.clusters[1]", `cluster "prod" is listed twice`),
		{name: "binding/no cluster in scope", docs: []string{bindingDoc("shop", "orders", "")},
			sev: SeverityError, resource: refBinding, field: "spec.clusters", fragment: "no IdentityCluster is in scope"},
		{name: "binding/unknown cluster none in scope", docs: []string{bindingDoc("shop", "orders", "clusters: [prod]\n")},
			sev: SeverityError, resource: refBinding, field: "spec.clusters[0]", fragment: "none are in scope"},
		{name: "binding/clusters omitted with several", docs: []string{clusterDoc("b", ""), clusterDoc("a", ""), bindingDoc("shop", "orders", "")},
			sev: SeverityError, resource: refBinding, field: "spec.clusters", fragment: "is required when several IdentityClusters are in scope (a, b)"},
		{name: "binding/clusters in different accounts", docs: []string{
			clusterDoc("a", "accountID: \"111122223333\"\nissuer: https://a.example.com/id/A\n"),
			clusterDoc("b", "accountID: \"444455556666\"\nissuer: https://b.example.com/id/B\n"),
			bindingDoc("shop", "orders", "clusters: [a, b]\n")},
			sev: SeverityError, resource: refBinding, field: "spec.clusters[1]", fragment: `cluster "b" is in account 444455556666 (aws) but "a" is in 111122223333 (aws)`},
		{name: "binding/clusters in different partitions", docs: []string{
			clusterDoc("a", "accountID: \"111122223333\"\nissuer: https://a.example.com/id/A\n"),
			clusterDoc("b", "accountID: \"111122223333\"\npartition: aws-us-gov\nissuer: https://b.example.com/id/B\n"),
			bindingDoc("shop", "orders", "clusters: [a, b]\n")},
			sev: SeverityError, resource: refBinding, field: "spec.clusters[1]", fragment: "must share accountID and partition"},

		// Role settings
		bindingCase("explicit role name invalid", "role:\n  name: orders/role\n", "spec.role.name", `"orders/role" is not a valid IAM role name`),
		bindingCase("explicit role name too long", "role:\n  name: "+strings.Repeat("r", 65)+"\n", "spec.role.name", "explicit names are never rewritten"),
		bindingCase("role path", "role:\n  path: team\n", "spec.role.path", "must start and end with '/'"),
		bindingCase("description too long", "role:\n  description: "+strings.Repeat("d", 1001)+"\n", "spec.role.description", "is 1001 characters; IAM allows at most 1000"),
		bindingCase("description control char", "role:\n  description: \"a\\u0001b\"\n", "spec.role.description", "printable Latin-1 only"),
		bindingCase("description outside Latin-1", "role:\n  description: \"Rolle für 日本\"\n", "spec.role.description", "printable Latin-1 only"),
		bindingCase("maxSessionDuration low", "role:\n  maxSessionDuration: 3599\n", "spec.role.maxSessionDuration", "3599 is outside 3600..43200"),
		bindingCase("maxSessionDuration high", "role:\n  maxSessionDuration: 43201\n", "spec.role.maxSessionDuration", "43201 is outside 3600..43200"),
		bindingCase("maxSessionDuration negative", "role:\n  maxSessionDuration: -5\n", "spec.role.maxSessionDuration", "-5 is outside"),
		bindingCase("tokenExpiration low", "tokenExpiration: 599\n", "spec.tokenExpiration", "599 is outside 600..86400"),
		bindingCase("tokenExpiration high", "tokenExpiration: 86401\n", "spec.tokenExpiration", "86401 is outside 600..86400"),
		bindingCase("boundary bad ARN", "role:\n  permissionsBoundary: arn:aws:iam::aws:role/x\n", "spec.role.permissionsBoundary", "is not a valid IAM policy ARN"),
		bindingCase("boundary partition", "role:\n  permissionsBoundary: arn:aws-us-gov:iam::111122223333:policy/b\n", "spec.role.permissionsBoundary", `is in partition "aws-us-gov"`),
		bindingCase("boundary bad name", "role:\n  permissionsBoundary: \"a b\"\n", "spec.role.permissionsBoundary", "customer managed policy name"),
		bindingCase("role tag aws:", "role:\n  tags:\n    aws:cost: x\n", "spec.role.tags.aws:cost", "reserved by AWS"),
		bindingCase("role tag reserved binding", "role:\n  tags:\n    iambind.dev/binding: x\n", "spec.role.tags.iambind.dev/binding", "set by iambind"),
		bindingCase("role tag value length", "role:\n  tags:\n    team: "+strings.Repeat("v", 257)+"\n", "spec.role.tags.team", "at most 256"),
		{name: "binding/tags over 50 with cluster tags", docs: []string{validCluster("tags:\n" + tagsYAML("c", 25)), bindingDoc("shop", "orders", "role:\n  tags:\n"+indent(tagsYAML("b", 23), 2))}},
		bindingCase("audience", "audience: \"my aud\"\n", "spec.audience", "is not a valid audience"),

		// Managed policies
		bindingCase("managed bad ARN", "policies:\n  managed: [\"arn:aws:iam::aws:role/x\"]\n", "spec.policies.managed[0]", "is not a valid IAM policy ARN"),
		bindingCase("managed bad ARN account", "policies:\n  managed: [\"arn:aws:iam::12345:policy/x\"]\n", "spec.policies.managed[0]", "is not a valid IAM policy ARN"),
		bindingCase("managed partition mismatch", "policies:\n  managed: [\"arn:aws-cn:iam::aws:policy/ReadOnlyAccess\"]\n", "spec.policies.managed[0]", `is in partition "aws-cn" but the cluster is in "aws"`),
		bindingCase("managed bad name", "policies:\n  managed: [\"Read Only\"]\n", "spec.policies.managed[0]", "is neither a policy ARN nor an AWS managed policy name"),
		bindingCase("managed empty", "policies:\n  managed: [ReadOnlyAccess, \"\"]\n", "spec.policies.managed[1]", "is empty"),
		bindingCase("managed duplicate name and ARN", "policies:\n  managed: [ReadOnlyAccess, \"arn:aws:iam::aws:policy/ReadOnlyAccess\"]\n", "spec.policies.managed[1]", "arn:aws:iam::aws:policy/ReadOnlyAccess is listed twice (also spec.policies.managed[0])"),
		warningCase("managed AdministratorAccess", "policies:\n  managed: [AdministratorAccess]\n", "spec.policies.managed[0]", "AdministratorAccess grants every permission"),
		warningCase("managed AdministratorAccess ARN", "policies:\n  managed: [\"arn:aws:iam::aws:policy/AdministratorAccess\"]\n", "spec.policies.managed[0]", "prefer a scoped policy"),
		warningCase("managed over 10", managedList(11), "spec.policies.managed", "11 managed policies; IAM's default quota is 10"),
		bindingCase("managed over 20", managedList(21), "spec.policies.managed", "21 managed policies; IAM allows at most 20"),

		// Inline policies
		bindingCase("inline name", "policies:\n  inline:\n    \"bad name\": {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n", "spec.policies.inline.bad name", "is not a valid inline policy name"),
		bindingCase("inline name length", "policies:\n  inline:\n    "+strings.Repeat("n", 129)+": {Version: \"2012-10-17\", Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n", "spec.policies.inline."+strings.Repeat("n", 129), "1-128 characters"),
		bindingCase("inline JSON string invalid", "policies:\n  inline:\n    p: '{\"Version\": \"2012-10-17\",'\n", "spec.policies.inline.p", "not valid JSON"),
		bindingCase("inline JSON string trailing data", "policies:\n  inline:\n    p: '{\"Version\": \"2012-10-17\"} {}'\n", "spec.policies.inline.p", "trailing data after the document"),
		bindingCase("inline YAML list", "policies:\n  inline:\n    p: [a, b]\n", "spec.policies.inline.p", "must be a JSON object (an IAM policy document), got a list"),
		bindingCase("inline JSON string of a number", "policies:\n  inline:\n    p: '5'\n", "spec.policies.inline.p", "got a number"),
		bindingCase("inline plain string", "policies:\n  inline:\n    p: allow everything\n", "spec.policies.inline.p", "not valid JSON"),
		bindingCase("inline null", "policies:\n  inline:\n    p:\n", "spec.policies.inline.p", "got null"),
		bindingCase("inline bad Effect", inlineDoc("- Effect: Permit\n  Action: s3:GetObject\n  Resource: \"*\""), "spec.policies.inline.p", `Statement[0].Effect must be Allow or Deny, got "Permit"`),
		bindingCase("inline missing Effect", inlineDoc("- Action: s3:GetObject\n  Resource: \"*\""), "spec.policies.inline.p", `Statement[0].Effect must be Allow or Deny, got ""`),
		bindingCase("inline bad Effect single statement", "policies:\n  inline:\n    p: '{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"allow\",\"Action\":\"s3:*\",\"Resource\":\"*\"}}'\n", "spec.policies.inline.p", `got "allow"`),
		bindingCase("inline bad Version", "policies:\n  inline:\n    p: {Version: \"2020-01-01\", Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n", "spec.policies.inline.p", `Version "2020-01-01" is not an IAM policy version`),
		bindingCase("inline Version not a string", "policies:\n  inline:\n    p: {Version: 2012, Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n", "spec.policies.inline.p", `Version must be the string "2012-10-17"`),
		bindingCase("inline no Statement", "policies:\n  inline:\n    p: {Version: \"2012-10-17\"}\n", "spec.policies.inline.p", "has no Statement"),
		bindingCase("inline Statement empty in YAML", "policies:\n  inline:\n    p:\n      Version: \"2012-10-17\"\n      Statement:\n", "spec.policies.inline.p", "has no Statement"),
		bindingCase("inline Statement empty list", "policies:\n  inline:\n    p: {Version: \"2012-10-17\", Statement: []}\n", "spec.policies.inline.p", "has no Statement"),
		bindingCase("inline Statement malformed", "policies:\n  inline:\n    p: {Version: \"2012-10-17\", Statement: allow}\n", "spec.policies.inline.p", "Statement is malformed"),
		bindingCase("inline element name case", "policies:\n  inline:\n    p: {Version: \"2012-10-17\", statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n", "spec.policies.inline.p", `"statement" must be spelled "Statement" (IAM policy element names are case-sensitive)`),
		bindingCase("inline statement element name case", inlineDoc("- Effect: Allow\n  action: s3:GetObject\n  Resource: \"*\""), "spec.policies.inline.p", `Statement[0]: "action" must be spelled "Action"`),
		bindingCase("inline Action not strings", inlineDoc("- Effect: Allow\n  Action: 5\n  Resource: \"*\""), "spec.policies.inline.p", "Statement is malformed"),
		warningCase("inline * on *", inlineDoc("- Effect: Allow\n  Action: \"*\"\n  Resource: \"*\""), "spec.policies.inline.p", `allows Action "*" on Resource "*"`),
		warningCase("inline *:* on * in lists", inlineDoc("- Effect: Allow\n  Action: [s3:GetObject, \"*:*\"]\n  Resource: [\"arn:aws:s3:::b\", \"*\"]"), "spec.policies.inline.p", "administrator access"),
		warningCase("inline * on * as JSON string", "policies:\n  inline:\n    p: '{\"Version\":\"2012-10-17\",\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}'\n", "spec.policies.inline.p", "administrator access"),
		bindingCase("inline total size", "policies:\n  inline:\n    p: '{\"Version\":\"2012-10-17\",\"Statement\":["+bigStatement+"]}'\n", "spec.policies.inline", "IAM allows 10240 per role"),
		bindingCase("inline as a list", "policies:\n  inline: [a]\n", "spec.policies.inline", "must be an object, got a list"),

		// Strict decoding (decode.go): unknown fields and wrong types name their path.
		bindingCase("unknown field", "role:\n  maxSesionDuration: 7200\n", "spec.role.maxSesionDuration", "unknown field; did you mean spec.role.maxSessionDuration?"),
		bindingCase("unknown field far from any", "zzzzz: 1\n", "spec.zzzzz", "unknown field (check the spelling against the iambind.dev/v1alpha1 API)"),
		bindingCase("unknown spec field", "roles: {}\n", "spec.roles", "unknown field"),
		bindingCase("unknown field in a list item", "serviceAccounts:\n- name: a\n  nmaespace: b\n", "spec.serviceAccounts[0].nmaespace", "unknown field"),
		bindingCase("case-different field", "Audience: x\n", "spec.Audience", "unknown field"),
		{name: "binding/unknown top-level field", docs: []string{validCluster(""), bindingDoc("shop", "orders", "") + "specs: {}\n"},
			sev: SeverityError, resource: refBinding, field: "specs", fragment: "unknown field"},
		bindingCase("wrong type bool", "createServiceAccounts: \"yes please\"\n", "spec.createServiceAccounts", "must be a boolean (true or false), got a string"),
		bindingCase("yes is a string", "createServiceAccounts: yes\n", "spec.createServiceAccounts", "must be a boolean"),
		bindingCase("wrong type list", "serviceAccounts: {name: a}\n", "spec.serviceAccounts", "must be a list, got an object"),
		bindingCase("wrong type clusters", "clusters: prod\n", "spec.clusters", "must be a list, got a string"),
		bindingCase("wrong type int", "role:\n  maxSessionDuration: 1h\n", "spec.role.maxSessionDuration", "must be an integer, got a string"),
		bindingCase("int not whole", "role:\n  maxSessionDuration: 3600.5\n", "spec.role.maxSessionDuration", "must be an integer, got number 3600.5"),
		bindingCase("int overflow", "role:\n  maxSessionDuration: 99999999999\n", "spec.role.maxSessionDuration", "must be an integer, got number 99999999999"),
		bindingCase("NaN", "role:\n  maxSessionDuration: .nan\n", "spec.role.maxSessionDuration", "is not a number JSON can hold"),
		bindingCase("wrong type in list item", "serviceAccounts:\n- name: a\n- name: 5\n", "spec.serviceAccounts[1].name", "must be a string, got a number"),
		bindingCase("wrong type map value", "role:\n  tags:\n    team: [a, b]\n", "spec.role.tags.team", "must be a string, got a list"),
		bindingCase("wrong type object", "role: admin\n", "spec.role", "must be an object, got a string"),
		bindingCase("wrong type managed item", "policies:\n  managed: [{name: x}]\n", "spec.policies.managed[0]", "must be a string, got an object"),
		bindingCase("duplicate key", "audience: a\naudience: b\n", "spec.audience", `key "audience" is given twice`),
		// Regression (found by FuzzDecodeBinding): metadata keys were matched
		// case-insensitively, so `nAme:` named the binding for iambind only.
		{name: "binding/metadata key in another case", docs: []string{validCluster(""), strings.Replace(bindingDoc("shop", "orders", ""), "  namespace: shop\n", "  namespace: shop\n  Annotations: {a: b}\n", 1)},
			sev: SeverityError, resource: refBinding, field: "metadata.Annotations", fragment: "unknown field"},
		{name: "cluster/metadata name in another case", docs: []string{strings.Replace(validCluster(""), "  name: prod\n", "  name: prod\n  NAME: other\n", 1), bindingDoc("shop", "orders", "")},
			sev: SeverityError, resource: refCluster, field: "metadata.NAME", fragment: "unknown field"},
		// Regression (found by FuzzDecodeBinding): a self-referencing alias was
		// walked 100000 levels deep, taking seconds and naming a 300 KB path.
		bindingCase("recursive alias", "serviceAccounts: &a [*a]\n", "spec.serviceAccounts[0][0]", "alias *a refers to itself"),
		bindingCase("nesting depth", "role:\n  tags: "+strings.Repeat("[", 120)+strings.Repeat("]", 120)+"\n", "spec.role.tags"+strings.Repeat("[0]", 97), "nested more than 100 levels deep"),

		// Whole-input rules (generate.go)
		{name: "fn-config/wrong kind", docs: []string{validCluster(""), bindingDoc("shop", "orders", "")},
			fnConfig: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n",
			sev:      SeverityError, resource: "Deployment web", field: "kind", fragment: "the function config must be an iambind.dev/v1alpha1 IdentityCluster (or none), got apps/v1 Deployment"},
		{name: "fn-config/cluster of another version", docs: []string{bindingDoc("shop", "orders", "")},
			fnConfig: strings.Replace(validCluster(""), "v1alpha1", "v1beta1", 1),
			sev:      SeverityError, resource: refCluster, field: "apiVersion", fragment: `"iambind.dev/v1beta1" is not supported, use iambind.dev/v1alpha1`},
		{name: "input/unsupported version", docs: []string{validCluster(""), strings.Replace(bindingDoc("shop", "orders", ""), "v1alpha1", "v1", 1)},
			sev: SeverityError, resource: refBinding, field: "apiVersion", fragment: "iambind.dev/v1 IdentityBinding is not supported"},
		{name: "input/unsupported kind", docs: []string{validCluster(""), strings.Replace(bindingDoc("shop", "orders", ""), "IdentityBinding", "IdentityPolicy", 1)},
			sev: SeverityError, resource: "IdentityPolicy shop/orders", field: "apiVersion", fragment: "this function understands iambind.dev/v1alpha1 IdentityCluster and IdentityBinding"},
		{name: "input/duplicate cluster names with different specs", docs: []string{validCluster(""), validCluster("rolePath: /other/\n"), bindingDoc("shop", "orders", "")},
			sev: SeverityError, resource: refCluster, field: "metadata.name", fragment: `two IdentityClusters are named "prod" with different specs`},
		{name: "fn-config/same name as package cluster, different spec", docs: []string{validCluster(""), bindingDoc("shop", "orders", "")},
			fnConfig: validCluster("rolePath: /other/\n"),
			sev:      SeverityError, resource: refCluster, field: "metadata.name", fragment: "with different specs"},
		{name: "input/plan ConfigMap name taken", docs: []string{validCluster(""), bindingDoc("shop", "orders", ""),
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-orders\n  namespace: shop\ndata: {a: b}\n"},
			sev: SeverityError, resource: refBinding, field: "metadata.name", fragment: "ConfigMap shop/iambind-orders already exists in the input and is not iambind's"},
	}
	// the tags-over-50 case needs its expectation filled in (53 = 25 + 23 + 3 iambind tags)
	for i := range cases {
		if cases[i].name == "binding/tags over 50 with cluster tags" {
			cases[i].sev, cases[i].resource, cases[i].field, cases[i].fragment = SeverityError, refBinding, "spec.role.tags", "the role would carry 51 tags (cluster, binding and 3 iambind tags); IAM allows at most 50"
		}
	}
	return cases
}

func TestValidation(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range validationCases() {
		if seen[c.name] {
			t.Fatalf("duplicate case name %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			out := generate(t, c.fnConfig, c.docs...)
			p := mustProblem(t, out.Problems, c.sev, c.field, c.fragment)
			if p.Resource.String() != c.resource {
				t.Errorf("problem names %q, want %q", p.Resource.String(), c.resource)
			}
			if c.sev == SeverityError {
				// Nothing partial: the items are the input, untouched.
				if got, want := itemsYAML(out.Items), itemsYAML(parseObjects(t, c.docs...)); got != want {
					t.Errorf("on error the output items must equal the input\n got:\n%s\nwant:\n%s", got, want)
				}
			} else {
				mustNoErrors(t, out)
			}
		})
	}
}

// Inputs close to the rules above that must be accepted.
func TestValidationAccepts(t *testing.T) {
	cases := []struct {
		name     string
		docs     []string
		fnConfig string
	}{
		{"govcloud region", []string{validCluster("partition: aws-us-gov\nregion: us-gov-west-1\n"), bindingDoc("shop", "orders", "")}, ""},
		{"china region", []string{validCluster("partition: aws-cn\nregion: cn-northwest-1\n"), bindingDoc("shop", "orders", "")}, ""},
		{"issuer with port", []string{clusterDoc("prod", fmt.Sprintf("accountID: %q\nissuer: https://oidc.example.com:8443/id/A\n", testAccount)), bindingDoc("shop", "orders", "")}, ""},
		{"explicit role name of 64", []string{validCluster(""), bindingDoc("shop", "orders", "role:\n  name: "+strings.Repeat("R", 64)+"\n")}, ""},
		{"explicit role name with IAM chars", []string{validCluster(""), bindingDoc("shop", "orders", "role:\n  name: \"a_b+c=d,e.f@g-h\"\n")}, ""},
		{"session bounds", []string{validCluster(""), bindingDoc("shop", "orders", "role:\n  maxSessionDuration: 43200\n")}, ""},
		{"token expiration bounds", []string{validCluster(""), bindingDoc("shop", "orders", "tokenExpiration: 600\n")}, ""},
		{"managed 20 with warning only", []string{validCluster(""), bindingDoc("shop", "orders", managedList(20))}, ""},
		{"tags at 50", []string{validCluster("tags:\n" + tagsYAML("c", 25)), bindingDoc("shop", "orders", "role:\n  tags:\n"+indent(tagsYAML("b", 22), 2))}, ""},
		{"binding tag overrides cluster tag", []string{validCluster("tags:\n  team: a\n"), bindingDoc("shop", "orders", "role:\n  tags:\n    team: b\n")}, ""},
		{"Deny * on * is fine", []string{validCluster(""), bindingDoc("shop", "orders", inlineDoc("- Effect: Deny\n  Action: \"*\"\n  Resource: \"*\""))}, ""},
		{"2008 policy version", []string{validCluster(""), bindingDoc("shop", "orders", "policies:\n  inline:\n    p: {Version: \"2008-10-17\", Statement: [{Effect: Allow, Action: \"s3:*\", Resource: \"*\"}]}\n")}, ""},
		{"wildcard with opt-in", []string{validCluster(""), bindingDoc("shop", "orders", "allowWildcardSubjects: true\nserviceAccounts:\n- name: \"*\"\n- name: job-?\n  namespace: etl\n")}, ""},
		{"identical cluster in fn-config and package", []string{validCluster(""), bindingDoc("shop", "orders", "")}, validCluster("")},
		{"identical after defaulting", []string{validCluster("partition: aws\nrolePath: /\nowner: prod\n"), bindingDoc("shop", "orders", "")}, validCluster("")},
		{"kpt function-input ConfigMap", []string{validCluster(""), bindingDoc("shop", "orders", "")}, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\n  annotations:\n    config.kubernetes.io/local-config: \"true\"\n"},
		{"cluster only in fn-config", []string{bindingDoc("shop", "orders", "")}, validCluster("")},
		{"clusters omitted, one in scope besides fn-config duplicate", []string{validCluster(""), bindingDoc("shop", "orders", "")}, validCluster("")},
		{"unrelated ConfigMap in another namespace", []string{validCluster(""), bindingDoc("shop", "orders", ""), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: iambind-orders\n  namespace: other\n"}, ""},
		{"other iambind-looking apiVersion group", []string{validCluster(""), bindingDoc("shop", "orders", ""), "apiVersion: example.iambind.dev/v1\nkind: Thing\nmetadata:\n  name: t\n"}, ""},
		{"YAML 1.1 booleans stay strings in tags", []string{validCluster("tags:\n  enabled: yes\n  on: off\n"), bindingDoc("shop", "orders", "")}, ""},
		{"inline as JSON string with HTML characters", []string{validCluster(""), bindingDoc("shop", "orders", "policies:\n  inline:\n    p: '{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"s3:GetObject\",\"Resource\":\"arn:aws:s3:::a&b<c>\"}]}'\n")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mustNoErrors(t, generate(t, c.fnConfig, c.docs...))
		})
	}
}

// Every rule is reported, not just the first: a binding with several
// mistakes lists them all.
func TestValidationReportsEveryProblem(t *testing.T) {
	out := generate(t, "", validCluster(""), bindingDoc("shop", "orders",
		"role:\n  maxSessionDuration: 5\n  name: \"a b\"\ntokenExpiration: 1\npolicies:\n  managed: [\"bad name\"]\n"))
	for _, f := range []string{"spec.role.maxSessionDuration", "spec.role.name", "spec.tokenExpiration", "spec.policies.managed[0]"} {
		if _, ok := findProblem(out.Problems, SeverityError, f, ""); !ok {
			t.Errorf("missing error at %s; got:\n%s", f, problemsString(out.Problems))
		}
	}
	// Problems come sorted: errors first, by resource then field.
	for i := 1; i < len(out.Problems); i++ {
		a, b := out.Problems[i-1], out.Problems[i]
		if a.Severity == b.Severity && a.Resource == b.Resource && a.Field > b.Field {
			t.Errorf("problems not sorted by field: %q before %q", a.Field, b.Field)
		}
	}
}

// Problem.String is the one-line stderr form.
func TestProblemString(t *testing.T) {
	p := Problem{SeverityError, ResourceRef{Kind: "IdentityBinding", Namespace: "shop", Name: "orders"}, "spec.role.name", "bad"}
	if got := p.String(); got != "error: IdentityBinding shop/orders: spec.role.name: bad" {
		t.Errorf("String() = %q", got)
	}
	p = Problem{SeverityWarning, ResourceRef{Kind: "IdentityCluster", Name: "prod"}, "", "w"}
	if got := p.String(); got != "warning: IdentityCluster prod: w" {
		t.Errorf("String() = %q", got)
	}
}
